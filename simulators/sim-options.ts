// Command-line options of `npm run sim`, validated into one typed object.
// Every refusal is GW_ERR_CLI_USAGE, so scripts and tests check the code.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GatewayError, gatewayError } from '../core/errors.js';
import { SIM_FORMATS, type SimFormat } from './payload-formats.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** The gateway refuses messages of more than 1000 values (maxReadingsPerMessage). */
export const MAX_VALUES_PER_MESSAGE = 1000;

export interface SimOptions {
  url: string;
  host: string;
  port: number;
  devices: number;
  /** messages per device per second */
  rate: number;
  /** seconds; null runs until stopped */
  durationS: number | null;
  qos: 0 | 1 | 2;
  metrics: string[];
  /** what each device speaks (docs/sensors.md); json is the devices/ contract */
  format: SimFormat;
  /** readings per message */
  batch: number;
  username?: string;
  password?: string;
  seed: number;
  /** new connections per second while ramping up */
  ramp: number;
  /** fraction of connected devices dropped in each reconnect storm; 0 disables */
  churn: number;
  churnIntervalS: number;
  spikesPerDeviceHour: number;
  dropoutsPerDeviceHour: number;
  dropoutMaxS: number;
  /** seconds to wait for outstanding acks after publishing stops */
  graceS: number;
  idPrefix: string;
  maxInFlight: number;
  keepaliveS: number;
  json: boolean;
  quiet: boolean;
}

export const SIM_USAGE = `Usage: npm run sim -- [options]

  --url <url>              broker (default mqtt://127.0.0.1:1883)
  --devices <n>            simulated devices (default 100)
  --rate <n>               messages per device per second, fractional allowed (default 1)
  --duration <s>           seconds to run (default: until Ctrl-C)
  --qos <0|1|2>            (default 1)
  --metrics <a,b,...>      (default temperature,humidity,pressure)
  --batch <n>              readings per message (default 1)
  --format <f>             json, tasmota, zigbee2mqtt, homeassistant, sparkplug or influx: the
                           payload format each device speaks (default json; docs/sensors.md)
  --username <u>           may contain {device}; --password <p> likewise
  --credentials <file>     JSON {"username","password"} or one "user:password" line
  --seed <n>               makes sensor values, spikes and dropouts repeatable (default 1)
  --ramp <n>               connects per second while ramping up (default 500)
  --churn <fraction>       drop this share of devices in each reconnect storm (default 0)
  --churn-interval <s>     seconds between storms (default 30)
  --spikes <n>             injected anomalies per device per hour (default 2)
  --dropouts <n>           offline periods per device per hour (default 1)
  --dropout-max <s>        longest offline period (default 30)
  --grace <s>              wait for outstanding acks after the end (default 10)
  --id-prefix <p>          device ids are <p>00001, ... (default sim-)
  --max-in-flight <n>      unacked messages per device before it buffers (default 32)
  --keepalive <s>          MQTT keepalive (default 60)
  --json                   print the summary as JSON on stdout
  --quiet                  no live progress
  --help`;

const SPEC = {
  url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
  devices: { type: 'string', default: '100' },
  rate: { type: 'string', default: '1' },
  duration: { type: 'string' },
  qos: { type: 'string', default: '1' },
  metrics: { type: 'string', default: 'temperature,humidity,pressure' },
  batch: { type: 'string', default: '1' },
  format: { type: 'string', default: 'json' },
  username: { type: 'string' },
  password: { type: 'string' },
  credentials: { type: 'string' },
  seed: { type: 'string', default: '1' },
  ramp: { type: 'string', default: '500' },
  churn: { type: 'string', default: '0' },
  'churn-interval': { type: 'string', default: '30' },
  spikes: { type: 'string', default: '2' },
  dropouts: { type: 'string', default: '1' },
  'dropout-max': { type: 'string', default: '30' },
  grace: { type: 'string', default: '10' },
  'id-prefix': { type: 'string', default: 'sim-' },
  'max-in-flight': { type: 'string', default: '32' },
  keepalive: { type: 'string', default: '60' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export interface ParseDeps {
  readFile?: (path: string) => string;
}

function usage(message: string): GatewayError {
  return gatewayError('GW_ERR_CLI_USAGE', message);
}

/** A finite number within [min, max]; integer when asked. */
export function numberOption(
  name: string,
  text: string,
  {
    min,
    max,
    integer = false,
    minExclusive = false,
  }: { min: number; max: number; integer?: boolean; minExclusive?: boolean },
): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  const ok =
    Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const range = `${minExclusive ? '>' : '>='} ${min} and <= ${max}`;
    throw usage(`--${name} must be ${integer ? 'an integer' : 'a number'} ${range}, got "${text}"`);
  }
  return value;
}

export function parseBrokerUrl(text: string): { url: string; host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw usage(`--url is not a URL: "${text}"`);
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'tcp:') {
    throw usage(`--url must be mqtt://host:port (plain TCP), got "${text}"`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw usage(`--url has no host: "${text}"`);
  const port = parsed.port === '' ? 1883 : Number(parsed.port);
  return { url: `mqtt://${parsed.host || host}`, host, port };
}

export function readCredentials(text: string): { username: string; password?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let body: unknown;
    try {
      body = JSON.parse(trimmed);
    } catch {
      throw usage('credentials file is not valid JSON');
    }
    const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== 'string' || (password !== undefined && typeof password !== 'string')) {
      throw usage('credentials file must hold {"username": string, "password": string}');
    }
    return password === undefined ? { username } : { username, password };
  }
  const line = trimmed.split('\n')[0] ?? '';
  const colon = line.indexOf(':');
  if (colon <= 0) throw usage('credentials file must hold one "user:password" line or JSON');
  return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

function parseMetrics(text: string): string[] {
  const metrics = text.split(',').map((m) => m.trim());
  if (metrics.some((m) => !NAME.test(m))) {
    throw usage(`--metrics must be names matching [A-Za-z0-9_.-]{1,64}, got "${text}"`);
  }
  if (new Set(metrics).size !== metrics.length) throw usage(`--metrics names a metric twice: "${text}"`);
  return metrics;
}

/** Returns null when --help was asked for. */
export function parseSimArgs(argv: readonly string[], deps: ParseDeps = {}): SimOptions | null {
  let values: ReturnType<typeof parseArgs<{ options: typeof SPEC; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new GatewayError('GW_ERR_CLI_USAGE', [(err as Error).message], { cause: err });
  }
  if (values.help) return null;

  const broker = parseBrokerUrl(values.url);
  const metrics = parseMetrics(values.metrics);
  const batch = numberOption('batch', values.batch, { min: 1, max: MAX_VALUES_PER_MESSAGE, integer: true });
  if (batch * metrics.length > MAX_VALUES_PER_MESSAGE) {
    throw usage(`--batch × metrics must stay <= ${MAX_VALUES_PER_MESSAGE} values per message`);
  }
  const idPrefix = values['id-prefix'];
  if (!/^[A-Za-z0-9_.-]{0,50}$/.test(idPrefix)) {
    throw usage('--id-prefix must match [A-Za-z0-9_.-]{0,50}');
  }

  const options: SimOptions = {
    ...broker,
    devices: numberOption('devices', values.devices, { min: 1, max: 1_000_000, integer: true }),
    rate: numberOption('rate', values.rate, { min: 0, max: 1000, minExclusive: true }),
    durationS:
      values.duration === undefined
        ? null
        : numberOption('duration', values.duration, { min: 0, max: 1e7, minExclusive: true }),
    qos: numberOption('qos', values.qos, { min: 0, max: 2, integer: true }) as 0 | 1 | 2,
    metrics,
    format: parseFormat(values.format),
    batch,
    seed: numberOption('seed', values.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
    ramp: numberOption('ramp', values.ramp, { min: 0, max: 100_000, minExclusive: true }),
    churn: numberOption('churn', values.churn, { min: 0, max: 1 }),
    churnIntervalS: numberOption('churn-interval', values['churn-interval'], {
      min: 0,
      max: 86_400,
      minExclusive: true,
    }),
    spikesPerDeviceHour: numberOption('spikes', values.spikes, { min: 0, max: 360_000 }),
    dropoutsPerDeviceHour: numberOption('dropouts', values.dropouts, { min: 0, max: 360_000 }),
    dropoutMaxS: numberOption('dropout-max', values['dropout-max'], {
      min: 0,
      max: 86_400,
      minExclusive: true,
    }),
    graceS: numberOption('grace', values.grace, { min: 0, max: 3600 }),
    idPrefix,
    maxInFlight: numberOption('max-in-flight', values['max-in-flight'], {
      min: 1,
      max: 65_000,
      integer: true,
    }),
    keepaliveS: numberOption('keepalive', values.keepalive, { min: 1, max: 65_535, integer: true }),
    json: values.json,
    quiet: values.quiet,
  };

  if (values.credentials !== undefined) {
    if (values.username !== undefined || values.password !== undefined) {
      throw usage('give either --credentials or --username/--password, not both');
    }
    let text: string;
    try {
      text = (deps.readFile ?? ((p) => readFileSync(p, 'utf8')))(values.credentials);
    } catch (err) {
      throw new GatewayError('GW_ERR_CLI_USAGE', [`cannot read --credentials ${values.credentials}`], {
        cause: err,
      });
    }
    Object.assign(options, readCredentials(text));
  } else {
    if (values.password !== undefined && values.username === undefined) {
      throw usage('--password needs --username');
    }
    if (values.username !== undefined) options.username = values.username;
    if (values.password !== undefined) options.password = values.password;
  }
  return options;
}

/** Device ids are zero padded so they sort: sim-00001 … */
export function deviceId(prefix: string, index: number, devices: number): string {
  const width = Math.max(5, String(devices).length);
  return `${prefix}${String(index + 1).padStart(width, '0')}`;
}

function parseFormat(text: string): SimFormat {
  if (!(SIM_FORMATS as readonly string[]).includes(text))
    throw usage(`--format must be one of ${SIM_FORMATS.join(', ')}, got "${text}"`);
  return text as SimFormat;
}
