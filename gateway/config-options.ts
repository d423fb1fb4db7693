// Every setting, declared once as data. The flag, the GATEWAY_* variable, the
// config-file key, validation and the README's table all come from this list.

import { DEFAULT_ROLLUP_CPU_PERCENT } from '../storage/background-refresh.js';
import { DEFAULT_QUERY_CPU_PERCENT } from '../storage/query/query-pacer.js';

export type OptionType = 'string' | 'port' | 'int' | 'enum' | 'boolean';

export interface OptionSpec {
  key: string;
  type: OptionType;
  default: string | number | boolean;
  doc: string;
  /** a string that may be empty (its default is '', meaning "not set") */
  optional?: boolean;
  /** smallest accepted value for int */
  min?: number;
  /** largest accepted value for int */
  max?: number;
  choices?: readonly string[];
}

export const OPTION_SPECS = [
  { key: 'host', type: 'string', default: '127.0.0.1', doc: 'Address the MQTT and HTTP listeners bind to.' },
  { key: 'mqttPort', type: 'port', default: 1883, doc: 'MQTT (TCP) port; 0 picks a free one.' },
  {
    key: 'httpPort',
    type: 'port',
    default: 8080,
    doc: 'HTTP port for the dashboard (/), the query API (/api), /healthz, /readyz and /metrics; 0 picks a free one.',
  },
  {
    key: 'allowAnonymous',
    type: 'boolean',
    default: false,
    doc: 'Admit MQTT clients without credentials on a listener that is not on loopback (on loopback they always are). The gateway warns at start.',
  },
  {
    key: 'tlsPort',
    type: 'port',
    default: 8883,
    doc: 'MQTT over TLS port; the listener runs only when --tls-cert and --tls-key are given. 0 picks a free one.',
  },
  {
    key: 'tlsCert',
    type: 'string',
    optional: true,
    default: '',
    doc: 'PEM certificate (chain) of the TLS listener.',
  },
  { key: 'tlsKey', type: 'string', optional: true, default: '', doc: 'PEM private key of the TLS listener.' },
  {
    key: 'tlsCa',
    type: 'string',
    optional: true,
    default: '',
    doc: 'PEM CA for client certificates: one it signed authenticates the device named by its CN.',
  },
  { key: 'ws', type: 'boolean', default: false, doc: 'Serve MQTT over WebSocket on --ws-port, path /mqtt.' },
  {
    key: 'wsPort',
    type: 'port',
    default: 8083,
    doc: 'MQTT over WebSocket port (with --ws); 0 picks a free one.',
  },
  {
    key: 'wsAllowedOrigins',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Comma-separated origins (https://app.example.com) whose web pages may open MQTT over WebSocket; an upgrade with any other Origin header gets 403. Clients outside a browser send none (mqtt.js) or the address of the listener itself (paho); both are accepted.',
  },
  {
    key: 'apiToken',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Bearer token for /api. Required when HTTP is not on loopback: without one, /api answers 401 there.',
  },
  {
    key: 'metricsHost',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Serve /healthz, /readyz and /metrics on a listener of their own at this address (and no longer on --http-port).',
  },
  { key: 'metricsPort', type: 'port', default: 9464, doc: 'Port of that listener (with --metrics-host).' },
  {
    key: 'authRecheckMs',
    type: 'int',
    default: 2000,
    min: 50,
    doc: 'How often the device registry is polled so that sessions of revoked or rotated devices are closed.',
  },
  {
    key: 'db',
    type: 'string',
    default: 'data/gateway.db',
    doc: 'SQLite database file (its folder is created), or a postgres:// URL for PostgreSQL.',
  },
  {
    key: 'synchronous',
    type: 'enum',
    default: 'NORMAL',
    choices: ['NORMAL', 'FULL'],
    doc: 'SQLite synchronous mode. NORMAL (WAL) survives a crash of the process; FULL also survives power loss.',
  },
  { key: 'maxDbBytes', type: 'int', default: 0, min: 0, doc: 'Cap on the database size; 0 means no cap.' },
  {
    key: 'sqliteCacheMb',
    type: 'int',
    default: 32,
    min: 1,
    doc: "Page cache of SQLite's write connection, in MiB: the largest single share of the gateway's memory. 16 suits a small box.",
  },
  {
    key: 'rollupCpuPercent',
    type: 'int',
    default: DEFAULT_ROLLUP_CPU_PERCENT,
    min: 1,
    max: 100,
    doc: "Share of one core the background rewrite of closed minutes and hours may take (PostgreSQL: of the writer's transaction time); it rests between slices so ingest keeps the CPU. Until a minute is rewritten, queries answer it from raw. A job that has had work for over a minute runs uncapped until it catches up. 100 = no cap.",
  },
  {
    key: 'heapGrowthPercent',
    type: 'int',
    default: 50,
    min: 0,
    doc: "How far V8 lets each thread's heap grow past what was live after its last full GC before the next one, in percent (V8's --heap-growing-percent). 0 leaves it to V8, which let the main heap grow to three times its live objects at 5000 devices. Lower means less memory and more full GCs.",
  },
  {
    key: 'batchMaxReadings',
    type: 'int',
    default: 2000,
    min: 1,
    doc: 'Group commit: readings per transaction before it is cut.',
  },
  {
    key: 'batchMaxDelayMs',
    type: 'int',
    default: 0,
    min: 0,
    doc: 'Group commit: longest wait after the first reading of a batch; 0 cuts it on the next turn of the event loop.',
  },
  {
    key: 'writeMaxInFlight',
    type: 'int',
    default: 2,
    min: 1,
    doc: 'Batches handed to the writer thread at once.',
  },
  {
    key: 'queueHighWater',
    type: 'int',
    default: 50000,
    min: 1,
    doc: 'Readings waiting for commit before new messages wait (TCP backpressure).',
  },
  { key: 'maxPayloadBytes', type: 'int', default: 65536, min: 1, doc: 'Largest telemetry payload accepted.' },
  { key: 'maxReadingsPerMessage', type: 'int', default: 1000, min: 1, doc: 'Most readings in one message.' },
  {
    key: 'maxFutureMs',
    type: 'int',
    default: 600000,
    min: 0,
    doc: 'How far ahead of the receive time a ts may be.',
  },
  {
    key: 'maxPastMs',
    type: 'int',
    default: 518400000,
    min: 0,
    doc: 'How far behind the receive time a ts may be (default 6 days, inside the 7-day raw retention).',
  },
  {
    key: 'deadLetterPayloadBytes',
    type: 'int',
    default: 1024,
    min: 0,
    doc: 'Payload bytes kept per dead letter.',
  },
  {
    key: 'adapters',
    type: 'string',
    default: 'all',
    doc: 'Payload adapters for sensors as they are (docs/sensors.md): all, none, or a comma list of tasmota, zigbee2mqtt, homeassistant, sparkplug, influx. Each owns only its own topics; devices/… is always the JSON contract.',
  },
  {
    key: 'adapterTimeZone',
    type: 'string',
    optional: true,
    default: '',
    doc: "IANA time zone of Tasmota's local Time field (Europe/Berlin); empty: Tasmota readings take the receive time.",
  },
  {
    key: 'influxPrecision',
    type: 'enum',
    default: 'ns',
    choices: ['ns', 'us', 'ms', 's'],
    doc: 'Unit of Influx line protocol timestamps, as in Telegraf and InfluxDB: ns by default.',
  },
  {
    key: 'connectTimeoutMs',
    type: 'int',
    default: 10000,
    min: 100,
    doc: 'Time a socket has to send CONNECT.',
  },
  {
    key: 'maxPacketBytes',
    type: 'int',
    default: 131072,
    min: 64,
    doc: 'Largest MQTT packet; a bigger declared length closes the connection before its body is read. Keep it above --max-payload-bytes plus 4 KiB, so a payload just over that limit is still dead-lettered with a code.',
  },
  {
    key: 'maxConnections',
    type: 'int',
    default: 10000,
    min: 1,
    doc: 'Open connections over all MQTT listeners; more are closed at once. Keep `ulimit -n` above it.',
  },
  {
    key: 'keepaliveLimitS',
    type: 'int',
    default: 0,
    min: 0,
    doc: 'Opt-in maximum MQTT keepalive: a CONNECT asking for more, or for keepalive 0 (off), gets CONNACK 6. 0 (the default) accepts any keepalive, 0 included [MQTT-3.1.2.10]; --tcp-keepalive-s reaps half-open connections instead.',
  },
  {
    key: 'tcpKeepaliveS',
    type: 'int',
    default: 60,
    min: 0,
    doc: 'Idle seconds before TCP keepalive probes start on an MQTT connection (TCP, TLS, WebSocket); a peer that vanished without closing (power cut, NAT timeout) is then closed after 10 unanswered probes a second apart, whatever MQTT keepalive it asked for. 0 turns the probes off.',
  },
  {
    key: 'drainTimeoutMs',
    type: 'int',
    default: 30000,
    min: 100,
    doc: 'A subscriber whose socket stays full this long is disconnected; meanwhile messages to it are dropped.',
  },
  {
    key: 'deviceRate',
    type: 'int',
    default: 100,
    min: 0,
    doc: 'Messages per second per device id (token bucket). Over it the device is slowed, not refused: its acks are held and its connection is not read until it is within budget (nothing is dropped). 0 turns it off.',
  },
  {
    key: 'deviceBurst',
    type: 'int',
    default: 1000,
    min: 1,
    doc: 'Messages a device may send at once above --device-rate (the bucket size).',
  },
  {
    key: 'connectionRate',
    type: 'int',
    default: 1000,
    min: 0,
    doc: 'Messages per second per MQTT connection, whatever device ids it publishes for; held like --device-rate. Raise it for a bridge carrying many devices (each id it carries still has its own --device-rate). 0 turns it off.',
  },
  {
    key: 'connectionBurst',
    type: 'int',
    default: 10000,
    min: 1,
    doc: 'Messages a connection may send at once above --connection-rate.',
  },
  {
    key: 'maxInflightQos2',
    type: 'int',
    default: 20,
    min: 1,
    doc: 'QoS 2 messages per client awaiting PUBREL; one more closes the connection.',
  },
  {
    key: 'maxSubscriptionsPerClient',
    type: 'int',
    default: 100,
    min: 1,
    doc: 'Subscriptions one client may hold; more get a failure code in SUBACK.',
  },
  {
    key: 'analytics',
    type: 'enum',
    default: 'on',
    choices: ['on', 'off'],
    doc: 'Anomaly alerts: each committed reading scored in a worker pool, alerts stored and published on alerts/{deviceId}.',
  },
  { key: 'analyticsThreads', type: 'int', default: 1, min: 1, doc: 'Worker threads of the analytics pool.' },
  {
    key: 'alertClearAfter',
    type: 'int',
    default: 5,
    min: 1,
    doc: 'Consecutive normal readings of a series that clear its raised alert (hysteresis).',
  },
  {
    key: 'maxSeriesInMemory',
    type: 'int',
    default: 100000,
    min: 1,
    doc: 'Series whose anomaly-detector state is kept (about 200 bytes each); a new series beyond it takes the state of the least recently seen one, which warms up again if it returns.',
  },
  {
    key: 'queryThreads',
    type: 'int',
    default: 1,
    min: 1,
    doc: 'Reader threads that run queries (HTTP API).',
  },
  {
    key: 'queryCpuPercent',
    type: 'int',
    default: DEFAULT_QUERY_CPU_PERCENT,
    min: 1,
    max: 100,
    doc: 'Share of one core each query thread may use; a heavy query sleeps between slices of work so ingest keeps the CPU. 100 = no cap.',
  },
  {
    key: 'ingest',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Consumer mode: also take telemetry from this external broker: mqtt://host:1883 (a member of --share-group) or amqp://user:pass@host:5672 (RabbitMQ: a consumer of --ingest-queue). See docs/scale-out.md.',
  },
  {
    key: 'ingestQueue',
    type: 'string',
    default: 'gateways',
    doc: 'With --ingest amqp://…: the quorum queue the gateways share; declared at start and bound to amq.topic for devices.#.',
  },
  {
    key: 'ingestPrefetch',
    type: 'int',
    default: 1000,
    min: 1,
    doc: 'With --ingest amqp://…: unacknowledged messages RabbitMQ may hand this gateway at once; one commit can take all of them.',
  },
  {
    key: 'shareGroup',
    type: 'string',
    default: 'gateways',
    doc: 'Shared-subscription group (with --ingest): the gateway subscribes to $share/{group}/devices/+/telemetry[/+].',
  },
  {
    key: 'ingestClientId',
    type: 'string',
    optional: true,
    default: '',
    doc: 'ClientId prefix of the persistent sessions on the external broker (default with SQLite: sensor-gateway-{hostname}-{an id kept in the database}; required with PostgreSQL); keep it stable per instance, so a restart gets its unacknowledged messages back.',
  },
  {
    key: 'ingestSessions',
    type: 'int',
    default: 16,
    min: 1,
    doc: "Sessions per gateway on the external broker ({client-id}-0 ..); each carries up to the broker's in-flight limit of unacknowledged messages (Mosquitto: max_inflight_messages, 20), and one commit takes them all.",
  },
  {
    key: 'ingestUsername',
    type: 'string',
    optional: true,
    default: '',
    doc: 'User name on the external broker.',
  },
  {
    key: 'ingestPassword',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Password on the external broker.',
  },
  {
    key: 'forward',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Store and forward (docs/edge.md): publish every committed reading to this upstream broker (mqtt://host:1883 or mqtts://host:8883), at QoS 1, from a cursor kept in the database. SQLite only.',
  },
  {
    key: 'forwardCa',
    type: 'string',
    optional: true,
    default: '',
    doc: 'PEM CA bundle that signs the mqtts:// upstream.',
  },
  {
    key: 'forwardCert',
    type: 'string',
    optional: true,
    default: '',
    doc: 'PEM client certificate for the upstream.',
  },
  {
    key: 'forwardKey',
    type: 'string',
    optional: true,
    default: '',
    doc: 'PEM private key of --forward-cert.',
  },
  {
    key: 'forwardUsername',
    type: 'string',
    optional: true,
    default: '',
    doc: 'User name on the upstream broker.',
  },
  {
    key: 'forwardPassword',
    type: 'string',
    optional: true,
    default: '',
    doc: 'Password on the upstream broker.',
  },
  {
    key: 'forwardClientId',
    type: 'string',
    optional: true,
    default: '',
    doc: 'ClientId of the persistent upstream session (clean=false); default a stable id drawn once and kept in the database.',
  },
  {
    key: 'forwardTopicPrefix',
    type: 'string',
    default: 'devices/',
    doc: 'Upstream topics are {prefix}{deviceId}/telemetry; keep devices/ for a central gateway of ours.',
  },
  {
    key: 'forwardWindow',
    type: 'int',
    default: 64,
    min: 1,
    doc: 'Upstream messages published and not yet acknowledged (PUBACK), at most.',
  },
  {
    key: 'forwardSessions',
    type: 'int',
    default: 1,
    min: 1,
    doc: "Upstream sessions ({client-id}-0 ..; the plain ClientId when 1), sharing the window: the upstream commits several connections' messages together. With more than one, messages of one device may arrive out of order (each carries its ts); 1 keeps the order.",
  },
  {
    key: 'forwardPageReadings',
    type: 'int',
    default: 500000,
    min: 1,
    doc: 'Readings read from the forward log at a time (two pages at most in memory, ~50 MB each at the default); a larger page packs more readings per device into each upstream message, which is what drains a backlog fast (docs/benchmarks.md#forward).',
  },
  {
    key: 'forwardMaxBacklog',
    type: 'int',
    default: 0,
    min: 0,
    doc: 'Most readings owed upstream; past it the oldest batches owed are dropped from the forward log (counted in gateway_forward_dropped_readings_total), while they stay in the local database. 0 (the default): no limit, and when the disk fills the gateway stops acking (GW_ERR_STORAGE_FULL) so devices keep their data.',
  },
  {
    key: 'retentionRaw',
    type: 'string',
    default: '7d',
    doc: 'How long raw readings are kept: a duration (7d, 36h, 90m) or forever.',
  },
  {
    key: 'retention1m',
    type: 'string',
    default: '90d',
    doc: 'How long 1-minute rollups (and anomalies) are kept.',
  },
  { key: 'retention1h', type: 'string', default: 'forever', doc: 'How long 1-hour rollups are kept.' },
  { key: 'statsIntervalMs', type: 'int', default: 10000, min: 100, doc: 'Period of the stats log line.' },
  {
    key: 'logLevel',
    type: 'enum',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level.',
  },
  {
    key: 'logFormat',
    type: 'enum',
    default: 'auto',
    choices: ['auto', 'json', 'pretty'],
    doc: 'auto: pretty in a TTY, JSON otherwise.',
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTION_SPECS)[number]['key'];

export function flagName(key: string): string {
  // retention1m -> retention-1m; a trailing number stays put (maxInflightQos2 -> max-inflight-qos2).
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/(?<=[a-z])(?=\d+[a-z])/g, '-');
}

export function envName(key: string): string {
  return `GATEWAY_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}
