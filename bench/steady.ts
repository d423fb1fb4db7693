// Scenario "steady": N devices × rate msg/s at QoS 1 against the built
// gateway, measured from outside the process: ack latency at the device,
// event-loop delay from the gateway's own stats lines, CPU and RSS from /proc.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnGateway } from '../simulators/gateway-process.js';
import { tempDir } from '../simulators/run-cli.js';
import { startPacedFleet } from './lib/paced-fleet.js';
import { cpuMeter, median, rssBytes } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

const STATS_INTERVAL_MS = 2000;

export interface SteadyResult {
  devices: number;
  rate: number;
  batchMaxDelayMs: number;
  seconds: number;
  sent: number;
  acked: number;
  failed: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  eventLoopP99MsMedian: number;
  eventLoopP99MsMax: number;
  /** the gateway's own view of the acks (gateway/ack-latency.ts), per 2 s stats window */
  ackHoldP99MsMedian: number;
  ackHoldP99MsMax: number;
  /** share of the run the gateway's main thread waited for a core (Linux; gateway/cpu-wait.ts), % */
  mainCpuWaitPct: number;
  /** the longest event-loop stall that was not such a wait, ms */
  eventLoopBusyMaxMs: number;
  gatewayCpuPct: number;
  gatewayRssMb: number;
  idleRssMb: number;
  rssPerConnectionKb: number;
  benchCpuPct: number;
}

export interface SteadyHooks {
  /** runs alongside the measured window; its stop() result is returned as `during` */
  during?: (gateway: { httpPort: number; mqttPort: number }) => { stop(): Promise<unknown> };
}

export async function runSteady(
  opts: {
    devices: number;
    rate: number;
    seconds: number;
    warmup: number;
    /** unset: the gateway's default */
    batchMaxDelayMs?: number;
    extraArgs?: string[];
    /** an existing database to run on, e.g. a seeded copy */
    db?: string;
  },
  hooks: SteadyHooks = {},
): Promise<SteadyResult & { during?: unknown }> {
  const db = opts.db ?? join(tempDir('gw-bench-'), 'gateway.db');
  const gw = await spawnGateway([
    '--db',
    db,
    '--stats-interval-ms',
    String(STATS_INTERVAL_MS),
    ...(opts.batchMaxDelayMs === undefined ? [] : ['--batch-max-delay-ms', String(opts.batchMaxDelayMs)]),
    ...(opts.extraArgs ?? []),
  ]);
  const pid = gw.proc.pid!;
  try {
    const idleRss = rssBytes(pid);
    const fleet = await startPacedFleet({
      host: '127.0.0.1',
      port: gw.mqttPort,
      devices: opts.devices,
      rate: opts.rate,
      qos: 1,
      metricsPerMessage: 3,
      ramp: 2000,
    });
    await new Promise((r) => setTimeout(r, opts.warmup * 1000));
    fleet.window();
    const logsBefore = gw.logs.length;
    const gwCpu = cpuMeter(pid);
    const benchCpu = cpuMeter(process.pid);
    gwCpu.start();
    benchCpu.start();
    const side = hooks.during?.({ httpPort: gw.httpPort, mqttPort: gw.mqttPort });
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    const w = fleet.window();
    const during = await side?.stop();
    const gatewayCpuPct = gwCpu.stop();
    const benchCpuPct = benchCpu.stop();
    const rss = rssBytes(pid);
    const statsField = (field: 'eventLoopP99Ms' | 'ackHoldP99Ms' | 'cpuWaitMs' | 'eventLoopBusyMaxMs') =>
      gw.logs
        .slice(logsBefore)
        .map((l) => (l.stats as Record<string, unknown> | undefined)?.[field])
        .filter((v): v is number => typeof v === 'number');
    const loops = statsField('eventLoopP99Ms');
    const holds = statsField('ackHoldP99Ms');
    const waits = statsField('cpuWaitMs');
    await fleet.stop();
    return {
      devices: opts.devices,
      rate: opts.rate,
      batchMaxDelayMs: opts.batchMaxDelayMs ?? Number.NaN,
      seconds: w.seconds,
      sent: w.sent,
      acked: w.acked,
      failed: w.failed,
      ackP50Ms: w.p50,
      ackP99Ms: w.p99,
      ackMaxMs: w.max,
      eventLoopP99MsMedian: median(loops),
      eventLoopP99MsMax: Math.max(...loops),
      ackHoldP99MsMedian: median(holds),
      ackHoldP99MsMax: Math.max(...holds),
      mainCpuWaitPct: (waits.reduce((a, b) => a + b, 0) / (waits.length * STATS_INTERVAL_MS)) * 100,
      eventLoopBusyMaxMs: Math.max(0, ...statsField('eventLoopBusyMaxMs')),
      gatewayCpuPct,
      gatewayRssMb: rss / 2 ** 20,
      idleRssMb: idleRss / 2 ** 20,
      rssPerConnectionKb: (rss - idleRss) / 1024 / opts.devices,
      benchCpuPct,
      ...(during === undefined ? {} : { during }),
    };
  } finally {
    await gw.stop('SIGTERM');
  }
}

/** one line for `npm run bench -- --help` */
export const about =
  'N devices × rate msg/s at QoS 1 against the built gateway: ack latency at the device, event-loop delay, CPU and RSS';

export const options = {
  devices: { type: 'string', default: '5000' },
  rate: { type: 'string', default: '1' },
  duration: { type: 'string', default: '60' },
  warmup: { type: 'string', default: '5' },
  'batch-max-delay-ms': { type: 'string' },
  // extra gateway flags, space-separated; with = since they start with a dash: --gateway-args='--analytics off'
  'gateway-args': { type: 'string', default: '' },
  json: { type: 'boolean', default: false },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const delays: Array<number | undefined> =
    values['batch-max-delay-ms'] === undefined
      ? [undefined]
      : values['batch-max-delay-ms'].split(',').map(Number);
  const results: SteadyResult[] = [];
  for (const batchMaxDelayMs of delays) {
    const r = await runSteady({
      devices: Number(values.devices),
      rate: Number(values.rate),
      seconds: Number(values.duration),
      warmup: Number(values.warmup),
      ...(batchMaxDelayMs === undefined ? {} : { batchMaxDelayMs }),
      extraArgs: values['gateway-args'].split(' ').filter((a) => a !== ''),
    });
    results.push(r);
    if (!values.json) console.log(formatSteady(r));
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
}

export function formatSteady(r: SteadyResult): string {
  const f = (n: number, d = 1) => n.toFixed(d);
  return [
    `steady: ${r.devices} devices × ${r.rate} msg/s, QoS 1, 3 metrics/msg, batch delay ${Number.isNaN(r.batchMaxDelayMs) ? 'default' : `${r.batchMaxDelayMs} ms`}, ${f(r.seconds, 0)} s measured`,
    `  sent ${r.sent}, acked ${r.acked}, failed ${r.failed}  (${f(r.acked / r.seconds, 0)} acks/s)`,
    `  ack latency p50 ${f(r.ackP50Ms, 2)} ms, p99 ${f(r.ackP99Ms, 2)} ms, max ${f(r.ackMaxMs, 2)} ms`,
    `  gateway event-loop p99 (2 s windows) median ${f(r.eventLoopP99MsMedian, 2)} ms, max ${f(r.eventLoopP99MsMax, 2)} ms; longest busy stall ${f(r.eventLoopBusyMaxMs, 1)} ms; main thread waiting for a core ${f(r.mainCpuWaitPct, 1)} % of the time`,
    `  gateway ack hold p99 (2 s windows) median ${f(r.ackHoldP99MsMedian, 2)} ms, max ${f(r.ackHoldP99MsMax, 2)} ms`,
    `  gateway CPU ${f(r.gatewayCpuPct)} %, RSS ${f(r.gatewayRssMb)} MB (idle ${f(r.idleRssMb)} MB, ${f(r.rssPerConnectionKb)} KB/connection); load generator CPU ${f(r.benchCpuPct)} %`,
  ].join('\n');
}
