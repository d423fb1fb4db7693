// The OpenAPI 3.1 description served at /api/openapi.json. Hand-written as
// data (a table of routes, the schemas, the error responses) that one
// function assembles; the enumerations and defaults come from the parser
// itself so they cannot drift.

import {
  ANOMALY_DEFAULTS,
  BUCKETS,
  DEFAULT_ANOMALY_LIMIT,
  DEFAULT_MAX_BUCKETS,
  MAX_ANOMALY_LIMIT,
  SERIES_DEFAULTS,
} from '../../storage/query/params.js';
import { AGGREGATES } from '../../storage/query-port.js';

const TIME =
  'now, a relative offset (-15m, -1h, -7d, +5m), an ISO 8601 date or date-time, or epoch milliseconds';
const epochMs = { type: 'integer', description: 'epoch milliseconds' };
const number = { type: 'number' };
const string = { type: 'string' };
const deviceGlob = { type: 'string', pattern: '^[A-Za-z0-9_.\\-*?]{1,64}$' };
const name = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' };

const object = (required: string[], properties: Record<string, object>) => ({
  type: 'object',
  required,
  properties,
});
const arrayOf = (items: object) => ({ type: 'array', items });
const param = (name: string, description: string, schema: object, required = false) => ({
  name,
  in: 'query',
  required,
  description,
  schema,
});

type ErrorStatus = 400 | 404 | 503;

interface RouteDoc {
  path: string;
  summary: string;
  description?: string;
  parameters?: object[];
  /** the 200 answer: a schema name under components, or an inline schema */
  ok: { schema: string | object; description: string };
  errors?: ErrorStatus[];
}

const ROUTES: readonly RouteDoc[] = [
  {
    path: '/api/devices',
    summary: 'Devices that have sent telemetry',
    ok: { schema: 'Devices', description: 'devices, by id' },
    errors: [400, 503],
  },
  {
    path: '/api/metrics',
    summary: 'Every metric any device has stored (the union across devices), by name',
    ok: {
      schema: object(['metrics'], {
        metrics: arrayOf(
          object(['metric', 'devices'], {
            metric: string,
            devices: { type: 'integer', description: 'devices that have sent it' },
          }),
        ),
      }),
      description: 'metrics, by name',
    },
    errors: [400, 503],
  },
  {
    path: '/api/devices/{id}/latest',
    summary: 'The newest stored reading of each metric of one device',
    parameters: [{ name: 'id', in: 'path', required: true, schema: name }],
    ok: { schema: 'Latest', description: 'one reading per metric' },
    errors: [400, 404, 503],
  },
  {
    path: '/api/series',
    summary: 'Aggregates per time bucket, for one device or a glob of devices',
    description:
      'Answered from the coarsest stored tier (raw, 1m, 1h) that gives the bucket exactly; ' +
      `"tier" says which. At most ${DEFAULT_MAX_BUCKETS} buckets per request.`,
    parameters: [
      param('device', 'a device id, or a glob with * and ? for a fleet-wide aggregate', deviceGlob, true),
      param('metric', 'metric name', name, true),
      param('from', `inclusive start: ${TIME}`, { type: 'string', default: SERIES_DEFAULTS.from }),
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
    ok: { schema: 'Series', description: 'buckets in time order' },
    errors: [400, 503],
  },
  {
    path: '/api/anomalies',
    summary: 'Alert transitions (raised by an anomalous reading, cleared after normal ones), newest first',
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
    ok: { schema: 'Anomalies', description: 'anomalies' },
    errors: [400, 503],
  },
  {
    path: '/api/stats',
    summary: 'Running ingest totals and connected clients (the dashboard differences two polls)',
    ok: { schema: 'Stats', description: 'totals since start' },
  },
  {
    path: '/api/openapi.json',
    summary: 'This document',
    ok: { schema: { type: 'object' }, description: 'OpenAPI 3.1' },
  },
];

const ERROR_RESPONSES: Record<ErrorStatus, string> = {
  400: 'a parameter is missing or invalid; "param" names it',
  404: 'no readings stored for that device',
  503: 'no query backend, or storage busy or closed',
};

const SCHEMAS = {
  Error: object(['error'], {
    error: object(['code', 'message'], {
      code: { type: 'string', examples: ['GW_ERR_QUERY_INVALID', 'GW_ERR_QUERY_TOO_MANY_BUCKETS'] },
      message: string,
      param: { type: 'string', description: 'the parameter at fault' },
    }),
  }),
  Devices: object(['devices'], {
    devices: arrayOf(
      object(['deviceId', 'firstSeen', 'lastSeen'], {
        deviceId: string,
        firstSeen: epochMs,
        lastSeen: epochMs,
      }),
    ),
  }),
  Latest: object(['deviceId', 'readings'], {
    deviceId: string,
    readings: arrayOf(
      object(['metric', 'ts', 'value'], {
        metric: string,
        ts: epochMs,
        value: number,
        unit: { type: 'string', description: 'the unit the payload format stated (docs/sensors.md)' },
        deviceClass: { type: 'string', description: "Home Assistant's device_class, from discovery" },
      }),
    ),
  }),
  Series: object(
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
  Anomalies: object(['anomalies'], {
    anomalies: arrayOf(
      object(['deviceId', 'metric', 'ts', 'value', 'score', 'expectedLow', 'expectedHigh', 'state'], {
        deviceId: string,
        metric: string,
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
      }),
    ),
  }),
  Stats: object(['at', 'connectedClients', 'totals'], {
    at: epochMs,
    connectedClients: { type: 'integer' },
    totals: {
      type: 'object',
      description: 'counts since the gateway started',
      additionalProperties: { type: 'integer' },
    },
  }),
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

function pathItem(route: RouteDoc): object {
  const schema = typeof route.ok.schema === 'string' ? ref(route.ok.schema) : route.ok.schema;
  const errors = (route.errors ?? []).map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]);
  return {
    get: {
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      ...(route.parameters === undefined ? {} : { parameters: route.parameters }),
      responses: { '200': json(schema, route.ok.description), ...Object.fromEntries(errors) },
    },
  };
}

export function openApiDocument(): object {
  // A fresh copy per call: the tables above are shared, the answer is the caller's.
  return structuredClone({
    openapi: '3.1.0',
    info: {
      title: 'Sensor gateway query API',
      version: '1',
      description:
        'Stored readings and their rollups. Every error answers {"error": {"code", "message", "param"}}; ' +
        'the code is stable, the message is for people.',
    },
    paths: Object.fromEntries(ROUTES.map((route) => [route.path, pathItem(route)])),
    components: {
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([status, description]) => [
          `E${status}`,
          json(ref('Error'), description),
        ]),
      ),
      schemas: SCHEMAS,
    },
  });
}
