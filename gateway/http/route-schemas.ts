// The query API's routes as data: each route's parameters and answers as JSON
// Schema. fastify validates the parameters with them before a handler runs,
// and @fastify/swagger builds /api/openapi.json from them. Enumerations and
// defaults come from the shared parser (storage/query/params.ts), which still
// checks what a schema cannot say (time expressions, from < to), so the CLI
// and the API refuse alike.

import {
  ANOMALY_DEFAULTS,
  BUCKETS,
  DEFAULT_ANOMALY_LIMIT,
  DEFAULT_DEAD_LETTER_LIMIT,
  DEFAULT_MAX_BUCKETS,
  DEFAULT_READINGS_LIMIT,
  EXPORT_DEFAULTS,
  MAX_ANOMALY_LIMIT,
  MAX_DEAD_LETTER_LIMIT,
  MAX_READINGS_LIMIT,
  SERIES_DEFAULTS,
} from '../../storage/query/params.js';
import { AGGREGATES } from '../../storage/query-port.js';

const TIME =
  'now, a relative offset (-15m, -1h, -7d, +5m), an ISO 8601 date or date-time, or epoch milliseconds';
const epochMs = { type: 'integer', description: 'epoch milliseconds' } as const;
const number = { type: 'number' } as const;
const string = { type: 'string' } as const;
const NAME = '^[A-Za-z0-9_.-]{1,64}$';
const deviceGlob = { type: 'string', pattern: '^[A-Za-z0-9_.\\-*?]{1,64}$' } as const;
const name = { type: 'string', pattern: NAME } as const;
/** Parameters stay text: the shared parser reads them as the CLI's flags. */
const limit = (fallback: number, max: number) => ({
  type: 'string',
  pattern: '^\\d{1,9}$',
  description: `most rows returned, 1 to ${max} (default ${fallback})`,
});
const time = (edge: string, fallback?: string) => ({
  type: 'string',
  description: `${edge}: ${TIME}`,
  ...(fallback === undefined ? {} : { default: fallback }),
});

const object = (required: readonly string[], properties: Record<string, object>) => ({
  type: 'object',
  required: [...required],
  properties,
});
const arrayOf = (items: object) => ({ type: 'array', items });
const query = (required: readonly string[], properties: Record<string, object>) => ({
  type: 'object',
  required: [...required],
  properties,
});

/** Shared schemas, registered with app.addSchema; @fastify/swagger lists them under components. */
export const SHARED_SCHEMAS = [
  {
    $id: 'ApiError',
    ...object(['error'], {
      error: object(['code', 'message'], {
        code: { type: 'string', examples: ['GW_ERR_QUERY_INVALID', 'GW_ERR_QUERY_TOO_MANY_BUCKETS'] },
        message: string,
        param: { type: 'string', description: 'the parameter at fault' },
      }),
    }),
  },
] as const;

const errorRef = (description: string) => ({ description, $ref: 'ApiError#' });
const ERRORS = {
  400: errorRef('a parameter is missing or invalid; "param" names it'),
  404: errorRef('nothing stored for that device'),
  503: errorRef('no query backend, or storage busy or closed'),
} as const;
const errors = (...codes: (keyof typeof ERRORS)[]) =>
  Object.fromEntries(codes.map((code) => [code, ERRORS[code]]));
const ok = (description: string, schema: object) => ({ 200: { description, ...schema } });

const readingFields = { ts: epochMs, value: number };

export const ROUTE_SCHEMAS = {
  devices: {
    summary: 'Devices that have sent telemetry',
    response: {
      ...ok(
        'devices, by id',
        object(['devices'], {
          devices: arrayOf(
            object(['deviceId', 'firstSeen', 'lastSeen'], {
              deviceId: string,
              firstSeen: epochMs,
              lastSeen: epochMs,
            }),
          ),
        }),
      ),
      ...errors(400, 503),
    },
  },
  metrics: {
    summary: 'Every metric any device has stored (the union across devices), by name',
    response: {
      ...ok(
        'metrics, by name',
        object(['metrics'], {
          metrics: arrayOf(
            object(['metric', 'devices'], {
              metric: string,
              devices: { type: 'integer', description: 'devices that have sent it' },
            }),
          ),
        }),
      ),
      ...errors(400, 503),
    },
  },
  latest: {
    summary: 'The newest stored reading of each metric of one device',
    params: query(['id'], { id: name }),
    response: {
      ...ok(
        'one reading per metric',
        object(['deviceId', 'readings'], {
          deviceId: string,
          readings: arrayOf(
            object(['metric', 'ts', 'value'], {
              metric: string,
              ...readingFields,
              unit: { type: 'string', description: 'the unit the payload format stated (docs/sensors.md)' },
              deviceClass: { type: 'string', description: "Home Assistant's device_class, from discovery" },
            }),
          ),
        }),
      ),
      ...errors(400, 404, 503),
    },
  },
  series: {
    summary: 'Aggregates per time bucket, for one device or a glob of devices',
    description:
      'Answered from the coarsest stored tier (raw, 1m, 1h) that gives the bucket exactly; ' +
      `"tier" says which. At most ${DEFAULT_MAX_BUCKETS} buckets per request.`,
    querystring: query(['device', 'metric'], {
      device: {
        ...deviceGlob,
        description: 'a device id, or a glob with * and ? for a fleet-wide aggregate',
      },
      metric: { ...name, description: 'metric name' },
      from: time('inclusive start', SERIES_DEFAULTS.from),
      to: time('exclusive end', SERIES_DEFAULTS.to),
      bucket: { type: 'string', enum: Object.keys(BUCKETS), default: SERIES_DEFAULTS.bucket },
      agg: {
        type: 'string',
        description: `comma-separated aggregates: ${AGGREGATES.join(', ')}`,
        default: SERIES_DEFAULTS.agg,
      },
    }),
    response: {
      ...ok(
        'buckets in time order',
        object(
          ['device', 'metric', 'from', 'to', 'bucket', 'bucketMs', 'aggs', 'tier', 'devices', 'points'],
          {
            device: string,
            metric: string,
            from: epochMs,
            to: epochMs,
            bucket: { type: 'string', enum: Object.keys(BUCKETS) },
            bucketMs: { type: 'integer' },
            aggs: arrayOf({ type: 'string', enum: [...AGGREGATES] }),
            tier: { type: 'string', enum: ['raw', '1m', '1h'] },
            devices: { type: 'integer', description: 'devices matched by the id or glob' },
            unit: { type: 'string', description: 'the unit every matched series states, when they agree' },
            points: arrayOf(
              object(['bucketStart', 'values'], {
                bucketStart: { ...epochMs, description: 'bucket start, aligned to bucketMs (UTC)' },
                values: {
                  type: 'object',
                  description: 'one entry per requested aggregate; null where the bucket has none',
                  additionalProperties: { type: ['number', 'null'] },
                },
              }),
            ),
          },
        ),
      ),
      ...errors(400, 503),
    },
  },
  anomalies: {
    summary: 'Alert transitions (raised by an anomalous reading, cleared after normal ones), newest first',
    querystring: query([], {
      device: { ...deviceGlob, description: 'a device id or glob; all devices when absent' },
      from: time('inclusive start', ANOMALY_DEFAULTS.from),
      to: time('exclusive end', ANOMALY_DEFAULTS.to),
      limit: limit(DEFAULT_ANOMALY_LIMIT, MAX_ANOMALY_LIMIT),
    }),
    response: {
      ...ok(
        'anomalies',
        object(['anomalies'], {
          anomalies: arrayOf(
            object(['deviceId', 'metric', 'ts', 'value', 'score', 'expectedLow', 'expectedHigh', 'state'], {
              deviceId: string,
              metric: string,
              state: {
                type: 'string',
                enum: ['raised', 'cleared'],
                description: 'raised by this reading, or cleared by it after normal readings in a row',
              },
              ...readingFields,
              score: number,
              expectedLow: number,
              expectedHigh: number,
            }),
          ),
        }),
      ),
      ...errors(400, 503),
    },
  },
  readings: {
    summary: "One series' raw readings, oldest first",
    description:
      'As `npm run query -- readings --format json`. For more rows than the limit, use /api/export.',
    querystring: query(['device', 'metric'], {
      device: { ...name, description: 'one device id (no glob)' },
      metric: { ...name, description: 'metric name' },
      from: time('inclusive start; open when absent'),
      to: time('exclusive end; open when absent'),
      limit: limit(DEFAULT_READINGS_LIMIT, MAX_READINGS_LIMIT),
    }),
    response: {
      ...ok(
        'readings in time order',
        object(['deviceId', 'metric', 'readings'], {
          deviceId: string,
          metric: string,
          readings: arrayOf(object(['ts', 'value'], readingFields)),
        }),
      ),
      ...errors(400, 503),
    },
  },
  deadLetters: {
    summary: 'Messages refused in part or whole, with their GW_ERR_* codes, newest first',
    description: 'As `npm run query -- dead-letters --format json`.',
    querystring: query([], {
      device: { ...name, description: 'one device id; all when absent' },
      limit: limit(DEFAULT_DEAD_LETTER_LIMIT, MAX_DEAD_LETTER_LIMIT),
    }),
    response: {
      ...ok(
        'dead letters',
        object(['deadLetters'], {
          deadLetters: arrayOf(
            object(['id', 'receivedAt', 'deviceId', 'topic', 'code', 'rejections', 'payload'], {
              id: { type: 'integer' },
              receivedAt: epochMs,
              deviceId: {
                type: ['string', 'null'],
                description: 'null when the topic named no valid device',
              },
              topic: string,
              code: { type: 'string', description: "the first rejection's GW_ERR_* code" },
              rejections: arrayOf(
                object(['index', 'code'], { index: { type: 'integer' }, metric: string, code: string }),
              ),
              rejectedCount: { type: 'integer' },
              acceptedCount: { type: 'integer' },
              payloadBytes: { type: 'integer', description: 'size as received' },
              payload: { type: 'string', description: 'the stored (truncated) payload as UTF-8 text' },
              payloadBase64: { type: 'string', description: 'the same bytes, exactly' },
            }),
          ),
        }),
      ),
      ...errors(400, 503),
    },
  },
  export: {
    summary: 'Every stored reading that matches, streamed as CSV or NDJSON',
    description:
      'Columns device, metric, ts, value, unit (unit is empty: the schema records none yet). ' +
      'ts is ISO 8601 in CSV and epoch ms in NDJSON. Read page by page by key, so memory ' +
      'stays flat whatever the range; a storage failure after the first bytes ends the ' +
      'response early. Parquet: `npm run query -- export --format parquet --out FILE`.',
    querystring: query(['from', 'format'], {
      device: { ...deviceGlob, description: 'a device id or glob; all devices when absent' },
      metric: { ...name, description: 'one metric; all when absent' },
      from: time('inclusive start'),
      to: time('exclusive end', EXPORT_DEFAULTS.to),
      format: { type: 'string', enum: ['csv', 'ndjson'] },
    }),
    response: {
      200: {
        description: 'one reading per line (CSV with a header line)',
        content: {
          'text/csv': { schema: string },
          'application/x-ndjson': { schema: string },
        },
      },
      ...errors(400, 503),
    },
  },
  stats: {
    summary: 'Running ingest totals and connected clients (the dashboard differences two polls)',
    response: ok(
      'totals since start',
      object(['at', 'connectedClients', 'totals'], {
        at: epochMs,
        connectedClients: { type: 'integer' },
        totals: {
          type: 'object',
          description: 'counts since the gateway started',
          additionalProperties: { type: 'integer' },
        },
      }),
    ),
  },
  openapi: {
    summary: 'This document (OpenAPI 3, generated from the route schemas)',
    response: ok('OpenAPI 3', { type: 'object' }),
  },
} as const;
