// One registry of coded errors, in the manner of fastify's FST_ERR_*.
// The codes are the contract: logs, metrics labels, dead letters and tests
// all use them; message text is for people and may change.

export const ErrorCodes = {
  // configuration and start-up
  GW_ERR_CONFIG_INVALID: 'invalid configuration: %s',
  GW_ERR_CONFIG_FILE: 'cannot read config file %s',
  GW_ERR_PORT_IN_USE: '%s port %s on %s is in use',
  GW_ERR_LISTEN: 'cannot listen on %s port %s on %s',
  // storage
  GW_ERR_STORAGE_OPEN: 'cannot open database %s',
  GW_ERR_STORAGE_CORRUPT: 'database %s is corrupt or not a SQLite database',
  GW_ERR_STORAGE_FULL: 'storage is full (disk or database size limit)',
  GW_ERR_STORAGE_BUSY: 'storage is busy (database locked)',
  GW_ERR_STORAGE_IO: 'storage I/O error',
  GW_ERR_STORAGE_READONLY: 'storage is read-only',
  GW_ERR_STORAGE_WRITE: 'storage write failed',
  GW_ERR_STORAGE_CLOSED: 'storage is closed',
  GW_ERR_STORAGE_UNAVAILABLE: 'database server %s is unreachable or went away',
  GW_ERR_STORAGE_RECOVERY: 'cannot rebuild the rollups of the minutes open at the last stop: %s',
  // consumer mode (gateway/consumer/): the gateway subscribes to an external broker
  GW_ERR_INGEST_CONNECT: 'cannot connect to the ingest broker %s: %s',
  GW_ERR_SHUTTING_DOWN: 'gateway is shutting down',
  // ingest: topic
  GW_ERR_TOPIC_INVALID: 'topic %s does not match devices/{deviceId}/telemetry[/{metric}]',
  GW_ERR_DEVICE_ID_INVALID: 'device id must match [A-Za-z0-9_.-]{1,64}',
  GW_ERR_SYS_TOPIC: '$SYS/ topics are reserved',
  // ingest: payload (whole message)
  GW_ERR_PAYLOAD_EMPTY: 'payload is empty',
  GW_ERR_PAYLOAD_TOO_LARGE: 'payload is %s bytes, over the limit of %s',
  GW_ERR_PAYLOAD_NOT_UTF8: 'payload is not valid UTF-8',
  GW_ERR_PAYLOAD_NOT_JSON: 'payload is not valid JSON',
  GW_ERR_PAYLOAD_NOT_NUMBER: 'payload on a per-metric topic must be a bare number',
  GW_ERR_PAYLOAD_SHAPE: 'payload must be an object, {"ts","values"} or an array of them',
  GW_ERR_TOO_MANY_READINGS: 'message holds %s readings, over the limit of %s',
  // ingest: one reading
  GW_ERR_READING_SHAPE: 'reading must be an object',
  GW_ERR_READING_EMPTY: 'reading has no values',
  GW_ERR_FIELD_UNKNOWN: 'unknown field %s',
  GW_ERR_METRIC_NAME_INVALID: 'metric name must match [A-Za-z0-9_.-]{1,64}',
  GW_ERR_VALUE_NOT_NUMBER: 'value must be a JSON number',
  GW_ERR_VALUE_NOT_FINITE: 'value must be finite',
  GW_ERR_TS_INVALID: 'ts must be epoch milliseconds or an ISO 8601 string',
  GW_ERR_TS_OUT_OF_RANGE: 'ts is too far in the future or the past',
  GW_ERR_WILL_INVALID: 'will is invalid: its %s',
  GW_ERR_READING_DUPLICATE: 'the same device, metric and ts appear twice in one message',
  // payload adapters (pipelines/adapters/): foreign formats on their own topics
  GW_ERR_ADAPTER_NAME_INVALID: 'the name %s from the topic or payload maps to no valid device id or metric',
  GW_ERR_TASMOTA_PAYLOAD: 'Tasmota SENSOR payload must be a JSON object',
  GW_ERR_TASMOTA_TIME: 'Tasmota Time must be YYYY-MM-DDTHH:MM:SS local time',
  GW_ERR_ZIGBEE2MQTT_PAYLOAD: 'zigbee2mqtt device payload must be a JSON object',
  GW_ERR_HOMEASSISTANT_CONFIG:
    'Home Assistant discovery config must be a JSON object with a string state_topic',
  GW_ERR_HOMEASSISTANT_STATE: 'Home Assistant / ESPHome state is not a number (or ON/OFF, true/false)',
  GW_ERR_HOMEASSISTANT_TEMPLATE:
    'value_template is not of the form {{ value_json.a.b }}, or the path is missing',
  GW_ERR_SPARKPLUG_TOPIC: 'Sparkplug topic must be spBv1.0/{group}/{type}/{edge}[/{device}]',
  GW_ERR_SPARKPLUG_DECODE: 'Sparkplug B payload is not a valid protobuf Payload',
  GW_ERR_SPARKPLUG_ALIAS_UNKNOWN: 'Sparkplug metric alias %s was not announced by a BIRTH; rebirth requested',
  GW_ERR_SPARKPLUG_SEQ_GAP: 'Sparkplug seq %s does not follow %s; rebirth requested',
  GW_ERR_INFLUX_LINE: 'line is not valid Influx line protocol',
  GW_ERR_INFLUX_NO_DEVICE: 'Influx line has no device or host tag and its topic names no device',
  GW_ERR_INFLUX_TIMESTAMP: 'Influx timestamp is not an integer',
  // limits that protect the gateway (gateway/limits/)
  GW_ERR_RATE_LIMITED: 'device %s is over its message rate of %s/s (burst %s)',
  GW_ERR_PACKET_TOO_LARGE: 'MQTT packet of %s bytes is over the limit of %s',
  GW_ERR_PACKET_MALFORMED: 'MQTT fixed header is malformed: %s',
  GW_ERR_TOO_MANY_CONNECTIONS: 'connection refused: %s connections open, the limit is %s',
  GW_ERR_SUBSCRIBER_STALLED: 'subscriber %s stopped reading for %s ms',
  GW_ERR_TOO_MANY_SUBSCRIPTIONS: 'client %s is over its limit of %s subscriptions',
  GW_ERR_SUBSCRIBER_SLOW: 'a message to a subscriber that is not reading was dropped',
  GW_ERR_CONNECTION_CLOSED: 'the connection is already closed',
  // device identity and access control (devices/, gateway/auth/)
  GW_ERR_METRIC_NOT_ALLOWED: 'metric %s is not in the allowed metrics of the device',
  GW_ERR_AUTH_FAILED: 'bad user name or password',
  GW_ERR_AUTH_REQUIRED: 'anonymous clients are not allowed on this listener',
  GW_ERR_CLIENT_ID_REJECTED: 'client id %s is not allowed for %s',
  GW_ERR_ACL_PUBLISH: 'publish to %s is not allowed for %s',
  GW_ERR_ACL_WILL: 'will topic %s is not allowed for %s',
  GW_ERR_ACL_SUBSCRIBE: 'subscription to %s is not allowed for %s',
  GW_ERR_DEVICE_EXISTS: 'device %s is already registered',
  GW_ERR_DEVICE_UNKNOWN: 'device %s is not registered',
  GW_ERR_REGISTRY_MISSING: 'no device registry at %s (a mistyped --db?): add or import creates one',
  GW_ERR_PEPPER_MISSING:
    'the token pepper %s is missing or not the one %s device tokens were hashed with (pepper %s): restore that file from the backup of the database',
  GW_ERR_IMPORT_ROW: 'line %s: %s; nothing was imported',
  GW_ERR_FILE_EXISTS: '%s already exists; refusing to overwrite it',
  GW_ERR_TLS_CONFIG: 'cannot read TLS %s file %s',
  GW_ERR_API_UNAUTHORIZED: '/api needs the bearer token (Authorization: Bearer <--api-token>)',
  GW_ERR_ROUTE_NOT_SERVED: 'this route is served on the other HTTP listener',
  GW_ERR_ROUTE_NOT_FOUND: 'no route %s %s',
  GW_ERR_HTTP_REQUEST: 'bad request (%s): %s',
  GW_ERR_API_HOST_REJECTED:
    '/api without --api-token answers only Host localhost, an IP address or --host, not %s (DNS rebinding)',
  GW_ERR_WS_ORIGIN: 'WebSocket upgrade from origin %s refused: not in --ws-allowed-origins',
  // command-line tools (sim, demo, query)
  GW_ERR_CLI_USAGE: '%s',
  GW_ERR_SIM_FD_LIMIT: 'open-file limit %s is too low for %s devices; run: ulimit -n %s',
  GW_ERR_SIM_UNACKED: '%s messages sent with QoS >= 1 were never acknowledged',
  GW_ERR_SIM_CONNECT: 'cannot connect to %s',
  // queries (CLI and HTTP API; storage/query/params.ts names the parameter at fault)
  GW_ERR_QUERY_INVALID: 'invalid %s: %s',
  GW_ERR_QUERY_PARAM_MISSING: '%s is required',
  GW_ERR_QUERY_TOO_MANY_BUCKETS:
    '%s: the range holds %s buckets, over the limit of %s; use a coarser bucket or a shorter range',
  GW_ERR_QUERY_NOT_FOUND: 'no readings stored for device %s',
  GW_ERR_QUERY_UNAVAILABLE: 'queries are not available on this gateway',
  // the Prometheus-compatible API (storage/query/promql/, gateway/http/prometheus/)
  GW_ERR_PROMQL_INVALID: 'invalid query: %s',
  GW_ERR_PROMQL_UNSUPPORTED: 'unsupported PromQL: %s',
  GW_ERR_PROMQL_TOO_LARGE: 'query too large: %s',
  // analytics (pipelines/analytics/)
  GW_ERR_ANALYTICS_TASK:
    'an analytics task failed: its readings were not scored and every series warms up again',
  GW_ERR_ANALYTICS_ALERTS_LOST: 'alert transitions could not be stored and were not published',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class GatewayError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    super(format(ErrorCodes[code], args), options);
    this.name = 'GatewayError';
    this.code = code;
  }
}

export function gatewayError(code: ErrorCode, ...args: unknown[]): GatewayError {
  return new GatewayError(code, args);
}

export function wrapError(code: ErrorCode, cause: unknown, ...args: unknown[]): GatewayError {
  return new GatewayError(code, args, { cause });
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}
