// Options of `npm run demo`: the gateway's and a few of the simulator's.

import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.js';
import { numberOption, parseSimArgs, type SimOptions } from './sim-options.js';

export const DEFAULT_DEMO_DB = 'data/gateway.db';
/**
 * At the simulator's 2 per device-hour, 200 devices × 30 s inject about 3
 * spikes, most inside the detector's warm-up: the demo would often show none.
 */
export const DEMO_SPIKES_PER_DEVICE_HOUR = 20;

export interface DemoOptions {
  db: string;
  /** 0 picks a free port */
  mqttPort: number;
  /** stop the gateway at the end even on a terminal */
  exit: boolean;
  sim: SimOptions;
}

export const DEMO_USAGE = `Usage: npm run demo -- [options]

Starts the gateway, runs the simulator against it with live progress, then
shows what was stored and how to query it or connect a real sensor.

  --devices <n>        simulated devices (default 2000)
  --duration <s>       seconds of simulated traffic (default 30)
  --rate <n>           messages per device per second (default 1)
  --qos <0|1|2>        (default 1)
  --metrics <a,b,...>  (default temperature,humidity,pressure)
  --seed <n>           (default 1)
  --spikes <n>         injected spikes per device-hour (default 20, ten times the
                       simulator's: a 30 s run then shows a few alerts, each
                       series raising one only after its detector's warm-up)
  --ramp <n>           connects per second (default 500)
  --mqtt-port <port>   the gateway's MQTT port (default: a free one)
  --db <path>          the gateway's database (default ${DEFAULT_DEMO_DB})
  --exit               stop the gateway at the end, even on a terminal
  --help`;

const SPEC = {
  devices: { type: 'string', default: '2000' },
  duration: { type: 'string', default: '30' },
  rate: { type: 'string', default: '1' },
  qos: { type: 'string', default: '1' },
  metrics: { type: 'string', default: 'temperature,humidity,pressure' },
  seed: { type: 'string', default: '1' },
  spikes: { type: 'string', default: String(DEMO_SPIKES_PER_DEVICE_HOUR) },
  ramp: { type: 'string', default: '500' },
  'mqtt-port': { type: 'string', default: '0' },
  db: { type: 'string', default: DEFAULT_DEMO_DB },
  exit: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** Returns null when --help was asked for. The simulator's url is filled in once the gateway is up. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | null {
  let values: ReturnType<typeof parseArgs<{ options: typeof SPEC; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new GatewayError('GW_ERR_CLI_USAGE', [(err as Error).message], { cause: err });
  }
  if (values.help) return null;
  if (values.db.trim() === '') throw new GatewayError('GW_ERR_CLI_USAGE', ['--db must be a path']);
  // --name=value: a value that starts with a dash (--devices=-5) reaches the
  // simulator's own check, rather than parseArgs' advice to use this very form.
  const forwarded = ['devices', 'duration', 'rate', 'qos', 'metrics', 'seed', 'ramp', 'spikes'] as const;
  const sim = parseSimArgs(forwarded.map((name) => `--${name}=${values[name]}`)) as SimOptions;
  return {
    db: values.db,
    mqttPort: numberOption('mqtt-port', values['mqtt-port'], { min: 0, max: 65_535, integer: true }),
    exit: values.exit,
    sim,
  };
}
