// Config precedence, as users of Telegraf and Mosquitto expect:
// defaults < config file < GATEWAY_* environment < command-line flags.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GatewayError, wrapError } from '../core/errors.js';
import { envName, flagName, OPTION_SPECS, type OptionSpec } from './config-options.js';

export interface GatewayConfig {
  host: string;
  mqttPort: number;
  httpPort: number;
  allowAnonymous: boolean;
  tlsPort: number;
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  ws: boolean;
  wsPort: number;
  wsAllowedOrigins: string;
  apiToken: string;
  metricsHost: string;
  metricsPort: number;
  authRecheckMs: number;
  db: string;
  synchronous: 'NORMAL' | 'FULL';
  maxDbBytes: number;
  /** SQLite write connection page cache, MiB */
  sqliteCacheMb: number;
  rollupCpuPercent: number;
  /** V8's --heap-growing-percent for every thread; 0: V8's own */
  heapGrowthPercent: number;
  batchMaxReadings: number;
  batchMaxDelayMs: number;
  writeMaxInFlight: number;
  queueHighWater: number;
  maxPayloadBytes: number;
  maxReadingsPerMessage: number;
  maxFutureMs: number;
  maxPastMs: number;
  deadLetterPayloadBytes: number;
  adapters: string;
  adapterTimeZone: string;
  influxPrecision: 'ns' | 'us' | 'ms' | 's';
  connectTimeoutMs: number;
  maxPacketBytes: number;
  maxConnections: number;
  keepaliveLimitS: number;
  tcpKeepaliveS: number;
  drainTimeoutMs: number;
  deviceRate: number;
  deviceBurst: number;
  connectionRate: number;
  connectionBurst: number;
  maxInflightQos2: number;
  maxSubscriptionsPerClient: number;
  analytics: 'on' | 'off';
  analyticsThreads: number;
  alertClearAfter: number;
  maxSeriesInMemory: number;
  queryThreads: number;
  queryCpuPercent: number;
  ingest: string;
  shareGroup: string;
  ingestClientId: string;
  ingestSessions: number;
  ingestUsername: string;
  ingestPassword: string;
  ingestQueue: string;
  ingestPrefetch: number;
  forward: string;
  forwardCa: string;
  forwardCert: string;
  forwardKey: string;
  forwardUsername: string;
  forwardPassword: string;
  forwardClientId: string;
  forwardTopicPrefix: string;
  forwardWindow: number;
  forwardSessions: number;
  forwardPageReadings: number;
  forwardMaxBacklog: number;
  retentionRaw: string;
  retention1m: string;
  retention1h: string;
  statsIntervalMs: number;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'pretty';
}

export interface ConfigSources {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
}

export interface LoadedConfig {
  config: GatewayConfig;
  help: boolean;
  configFile?: string;
}

export function loadConfig(sources: ConfigSources): LoadedConfig {
  const flags = parseFlags(sources.argv);
  if (flags.help === true) return { config: defaults(), help: true };

  const file = (flags.config as string | undefined) ?? sources.env.GATEWAY_CONFIG;
  const fromFile = file === undefined ? {} : readConfigFile(file, sources.readFile);

  const raw: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS as readonly OptionSpec[]) {
    let value: unknown = spec.default;
    let origin = 'default';
    if (Object.hasOwn(fromFile, spec.key)) {
      value = fromFile[spec.key];
      origin = `config file key "${spec.key}"`;
    }
    const env = sources.env[envName(spec.key)];
    if (env !== undefined && env !== '') {
      value = env;
      origin = `environment variable ${envName(spec.key)}`;
    }
    const flag = flags[flagName(spec.key)];
    if (typeof flag === 'string' || typeof flag === 'boolean') {
      value = flag;
      origin = `flag --${flagName(spec.key)}`;
    }
    raw[spec.key] = coerce(spec, value, origin);
  }
  return file === undefined
    ? { config: raw as unknown as GatewayConfig, help: false }
    : { config: raw as unknown as GatewayConfig, help: false, configFile: file };
}

export function defaults(): GatewayConfig {
  const out: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS) out[spec.key] = spec.default;
  return out as unknown as GatewayConfig;
}

export function helpText(): string {
  const lines = ['Usage: npm start -- [options]', '', 'Options (flag, environment variable, default):'];
  for (const spec of OPTION_SPECS as readonly OptionSpec[]) {
    const value = spec.type === 'boolean' ? '' : ' <value>';
    lines.push(`  --${flagName(spec.key)}${value}  ${envName(spec.key)}  (default ${String(spec.default)})`);
    lines.push(`      ${spec.doc}`);
  }
  lines.push('  --config <file>  GATEWAY_CONFIG  JSON file with any of the keys above (camelCase)');
  return lines.join('\n');
}

function parseFlags(argv: readonly string[]): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    config: { type: 'string' },
    help: { type: 'boolean' },
  };
  for (const spec of OPTION_SPECS as readonly OptionSpec[])
    options[flagName(spec.key)] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw wrapError('GW_ERR_CONFIG_INVALID', err, (err as Error).message);
  }
}

function readConfigFile(
  path: string,
  readFile = (p: string) => readFileSync(p, 'utf8'),
): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw wrapError(
      'GW_ERR_CONFIG_FILE',
      err,
      `${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw wrapError('GW_ERR_CONFIG_FILE', err, `${path}: not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayError('GW_ERR_CONFIG_FILE', [`${path}: must hold a JSON object`]);
  }
  const known = new Set<string>(OPTION_SPECS.map((s) => s.key));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new GatewayError('GW_ERR_CONFIG_INVALID', [`unknown key "${key}" in ${path}`]);
  }
  return parsed as Record<string, unknown>;
}

function coerce(spec: OptionSpec, value: unknown, origin: string): string | number | boolean {
  const bad = (why: string) => new GatewayError('GW_ERR_CONFIG_INVALID', [`${origin}: ${why}`]);
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string' || (value === '' && spec.optional !== true))
        throw bad('must be a non-empty string');
      return value;
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const text = String(value).toLowerCase();
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw bad(`must be true or false, got "${String(value)}"`);
    }
    case 'enum': {
      const text = String(value);
      const match = spec.choices?.find((c) => c.toLowerCase() === text.toLowerCase());
      if (match === undefined) throw bad(`must be one of ${spec.choices?.join(', ')}, got "${text}"`);
      return match;
    }
    case 'port':
    case 'int': {
      const n =
        typeof value === 'number' ? value : /^\s*\d+\s*$/.test(String(value)) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n)) throw bad(`must be a whole number, got "${String(value)}"`);
      if (spec.type === 'port' && (n < 0 || n > 65535)) throw bad(`must be a port from 0 to 65535, got ${n}`);
      if (spec.min !== undefined && n < spec.min) throw bad(`must be at least ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be at most ${spec.max}, got ${n}`);
      return n;
    }
  }
}
