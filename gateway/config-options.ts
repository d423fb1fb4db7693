// Every setting, declared once as data. The flag, the GATEWAY_* variable, the
// config-file key, validation and the README's table all come from this list.

export type OptionType = 'string' | 'port' | 'int' | 'enum';

export interface OptionSpec {
  key: string;
  type: OptionType;
  default: string | number;
  doc: string;
  /** smallest accepted value for int */
  min?: number;
  choices?: readonly string[];
}

export const OPTION_SPECS = [
  { key: 'host', type: 'string', default: '127.0.0.1', doc: 'Address the MQTT and HTTP listeners bind to.' },
  { key: 'mqttPort', type: 'port', default: 1883, doc: 'MQTT (TCP) port; 0 picks a free one.' },
  {
    key: 'httpPort',
    type: 'port',
    default: 8080,
    doc: 'HTTP port for /healthz, /readyz and /metrics; 0 picks a free one.',
  },
  {
    key: 'db',
    type: 'string',
    default: 'data/gateway.db',
    doc: 'SQLite database file; its folder is created.',
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
    default: 604800000,
    min: 0,
    doc: 'How far behind the receive time a ts may be (default 7 days).',
  },
  {
    key: 'deadLetterPayloadBytes',
    type: 'int',
    default: 1024,
    min: 0,
    doc: 'Payload bytes kept per dead letter.',
  },
  {
    key: 'connectTimeoutMs',
    type: 'int',
    default: 10000,
    min: 100,
    doc: 'Time a socket has to send CONNECT.',
  },
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
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string): string {
  return `GATEWAY_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}
