// The OpenAPI 3.1 description served at /api/openapi.json. Hand-written, but
// the enumerations and defaults come from the parser itself so they cannot drift.

import {
  ANOMALY_DEFAULTS,
  BUCKETS,
  DEFAULT_ANOMALY_LIMIT,
  DEFAULT_MAX_BUCKETS,
  MAX_ANOMALY_LIMIT,
  SERIES_DEFAULTS,
} from '../../storage/query/params.js';
import { AGGREGATES } from '../../storage/query-port.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));

const TIME =
  'now, a relative offset (-15m, -1h, -7d, +5m), an ISO 8601 date or date-time, or epoch milliseconds';
const epochMs = { type: 'integer', description: 'epoch milliseconds' };
const number = { type: 'number' };

const param = (name: string, description: string, schema: object, required = false) => ({
  name,
  in: 'query',
  required,
  description,
  schema,
});

const deviceGlob = { type: 'string', pattern: '^[A-Za-z0-9_.\\-*?]{1,64}$' };
const name = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' };

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sensor gateway query API',
      version: '1',
      description:
        'Stored readings and their rollups. Every error answers {"error": {"code", "message", "param"}}; ' +
        'the code is stable, the message is for people.',
    },
    paths: {
      '/api/devices': {
        get: {
          summary: 'Devices that have sent telemetry',
          responses: { '200': json(ref('Devices'), 'devices, by id'), ...errors(400, 503) },
        },
      },
      '/api/metrics': {
        get: {
          summary: 'Every metric any device has stored (the union across devices), by name',
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['metrics'],
                properties: {
                  metrics: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['metric', 'devices'],
                      properties: {
                        metric: { type: 'string' },
                        devices: { type: 'integer', description: 'devices that have sent it' },
                      },
                    },
                  },
                },
              },
              'metrics, by name',
            ),
            ...errors(400, 503),
          },
        },
      },
      '/api/devices/{id}/latest': {
        get: {
          summary: 'The newest stored reading of each metric of one device',
          parameters: [{ name: 'id', in: 'path', required: true, schema: name }],
          responses: { '200': json(ref('Latest'), 'one reading per metric'), ...errors(400, 404, 503) },
        },
      },
      '/api/series': {
        get: {
          summary: 'Aggregates per time bucket, for one device or a glob of devices',
          description:
            'Answered from the coarsest stored tier (raw, 1m, 1h) that gives the bucket exactly; ' +
            `"tier" says which. At most ${DEFAULT_MAX_BUCKETS} buckets per request.`,
          parameters: [
            param(
              'device',
              'a device id, or a glob with * and ? for a fleet-wide aggregate',
              deviceGlob,
              true,
            ),
            param('metric', 'metric name', name, true),
            param(`from`, `inclusive start: ${TIME}`, { type: 'string', default: SERIES_DEFAULTS.from }),
            param('to', `exclusive end: ${TIME}`, { type: 'string', default: SERIES_DEFAULTS.to }),
            param('bucket', 'bucket width', {
              type: 'string',
              enum: Object.keys(BUCKETS),
              default: SERIES_DEFAULTS.bucket,
            }),
            param('agg', `comma-separated aggregates: ${AGGREGATES.join(', ')}`, {
              type: 'string',
              default: SERIES_DEFAULTS.agg,
            }),
          ],
          responses: { '200': json(ref('Series'), 'buckets in time order'), ...errors(400, 503) },
        },
      },
      '/api/anomalies': {
        get: {
          summary:
            'Alert transitions (raised by an anomalous reading, cleared after normal ones), newest first',
          parameters: [
            param('device', 'a device id or glob; all devices when absent', deviceGlob),
            param('from', `inclusive start: ${TIME}`, { type: 'string', default: ANOMALY_DEFAULTS.from }),
            param('to', `exclusive end: ${TIME}`, { type: 'string', default: ANOMALY_DEFAULTS.to }),
            param('limit', 'most anomalies returned', {
              type: 'integer',
              minimum: 1,
              maximum: MAX_ANOMALY_LIMIT,
              default: DEFAULT_ANOMALY_LIMIT,
            }),
          ],
          responses: { '200': json(ref('Anomalies'), 'anomalies'), ...errors(400, 503) },
        },
      },
      '/api/stats': {
        get: {
          summary: 'Running ingest totals and connected clients (the dashboard differences two polls)',
          responses: { '200': json(ref('Stats'), 'totals since start') },
        },
      },
      '/api/openapi.json': {
        get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } },
      },
    },
    components: {
      responses: {
        E400: json(ref('Error'), 'a parameter is missing or invalid; "param" names it'),
        E404: json(ref('Error'), 'no readings stored for that device'),
        E503: json(ref('Error'), 'no query backend, or storage busy or closed'),
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', examples: ['GW_ERR_QUERY_INVALID', 'GW_ERR_QUERY_TOO_MANY_BUCKETS'] },
                message: { type: 'string' },
                param: { type: 'string', description: 'the parameter at fault' },
              },
            },
          },
        },
        Devices: {
          type: 'object',
          required: ['devices'],
          properties: {
            devices: {
              type: 'array',
              items: {
                type: 'object',
                required: ['deviceId', 'firstSeen', 'lastSeen'],
                properties: { deviceId: { type: 'string' }, firstSeen: epochMs, lastSeen: epochMs },
              },
            },
          },
        },
        Latest: {
          type: 'object',
          required: ['deviceId', 'readings'],
          properties: {
            deviceId: { type: 'string' },
            readings: {
              type: 'array',
              items: {
                type: 'object',
                required: ['metric', 'ts', 'value'],
                properties: { metric: { type: 'string' }, ts: epochMs, value: number },
              },
            },
          },
        },
        Series: {
          type: 'object',
          required: [
            'device',
            'metric',
            'from',
            'to',
            'bucket',
            'bucketMs',
            'aggs',
            'tier',
            'devices',
            'points',
          ],
          properties: {
            device: { type: 'string' },
            metric: { type: 'string' },
            from: epochMs,
            to: epochMs,
            bucket: { type: 'string', enum: Object.keys(BUCKETS) },
            bucketMs: { type: 'integer' },
            aggs: { type: 'array', items: { type: 'string', enum: [...AGGREGATES] } },
            tier: { type: 'string', enum: ['raw', '1m', '1h'] },
            devices: { type: 'integer', description: 'devices matched by the id or glob' },
            points: {
              type: 'array',
              items: {
                type: 'object',
                required: ['bucketStart', 'values'],
                properties: {
                  bucketStart: { ...epochMs, description: 'bucket start, aligned to bucketMs (UTC)' },
                  values: {
                    type: 'object',
                    description: 'one entry per requested aggregate; null where the bucket has none',
                    additionalProperties: { type: ['number', 'null'] },
                  },
                },
              },
            },
          },
        },
        Anomalies: {
          type: 'object',
          required: ['anomalies'],
          properties: {
            anomalies: {
              type: 'array',
              items: {
                type: 'object',
                required: [
                  'deviceId',
                  'metric',
                  'ts',
                  'value',
                  'score',
                  'expectedLow',
                  'expectedHigh',
                  'state',
                ],
                properties: {
                  deviceId: { type: 'string' },
                  metric: { type: 'string' },
                  state: {
                    type: 'string',
                    enum: ['raised', 'cleared'],
                    description: 'raised by this reading, or cleared by it after normal readings in a row',
                  },
                  ts: epochMs,
                  value: number,
                  score: number,
                  expectedLow: number,
                  expectedHigh: number,
                },
              },
            },
          },
        },
        Stats: {
          type: 'object',
          required: ['at', 'connectedClients', 'totals'],
          properties: {
            at: epochMs,
            connectedClients: { type: 'integer' },
            totals: {
              type: 'object',
              description: 'counts since the gateway started',
              additionalProperties: { type: 'integer' },
            },
          },
        },
      },
    },
  };
}
