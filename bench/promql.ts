// Scenario "promql": the Prometheus-compatible API over a day of 5000
// devices. First, alone: the fleet aggregate avg(avg_over_time(temperature[1m]))
// over 24 h at a 1-minute step (1440 points), and one device's 24 h, with the
// query threads at the default CPU cap and uncapped. Then the steady ingest
// load with and without a Grafana-like refresh load (10 panels every 5 s),
// interleaved: ack p99 at the device and as the gateway held it.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnGateway } from '../simulators/gateway-process.js';
import { tempDir } from '../simulators/run-cli.js';
import { askPanel, dashboardPanels, grafanaLoad, latencyRows, type Panel } from './lib/grafana-load.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { seedHistory } from './lib/seed-history.js';
import { runSteady, type SteadyResult } from './steady.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const about =
  'PromQL over 24 h of 5000 devices: the fleet aggregate and one device at a 1-minute step, then ingest ack p99 with and without a Grafana-like refresh load';

export const options = {
  'history-devices': { type: 'string', default: '5000' },
  devices: { type: 'string', default: '5000' },
  duration: { type: 'string', default: '60' },
  repeats: { type: 'string', default: '2' },
  'query-repeats': { type: 'string', default: '3' },
  'refresh-ms': { type: 'string', default: '5000' },
} satisfies ScenarioOptions;

const ALONE: Panel[] = [
  {
    name: 'fleet, avg(avg_over_time(temperature[1m])), 24 h at 1 m',
    query: 'avg(avg_over_time(temperature[1m]))',
    rangeMs: DAY,
    stepMs: MINUTE,
  },
  {
    name: 'one device, avg_over_time(temperature{device="hist-00001"}[1m]), 24 h at 1 m',
    query: 'avg_over_time(temperature{device="hist-00001"}[1m])',
    rangeMs: DAY,
    stepMs: MINUTE,
  },
];

async function queriesAlone(seeded: string, args: string[], repeats: number): Promise<Map<string, number[]>> {
  const db = join(tempDir('gw-promql-'), 'gateway.db');
  copyFileSync(seeded, db);
  const gw = await spawnGateway(['--db', db, ...args]);
  const out = new Map<string, number[]>(ALONE.map((p) => [p.name, []]));
  try {
    // The seed ends 5 minutes before its start: the 24 h end there, inside the history.
    const end = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    for (let i = 0; i < repeats; i++)
      for (const p of ALONE) out.get(p.name)!.push(await askPanel(gw.httpPort, p, end));
  } finally {
    await gw.stop('SIGTERM');
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const seeded = join(tempDir('gw-promql-history-'), 'seed.db');
  const t0 = performance.now();
  const seed = await seedHistory({
    path: seeded,
    devices: Number(values['history-devices']),
    hours: 25,
    readingsPerMinute: 1,
    prefix: 'hist-',
  });
  process.stderr.write(
    `  seeded ${seed.rows} readings (${values['history-devices']} devices × 25 h, 1 a minute) in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );

  console.log(
    `promql: ${values['history-devices']} devices × 25 h of history, 1 reading a minute (${seed.rows} readings)\n`,
  );
  console.log(
    '| query, alone (HTTP /api/v1/query_range, 1440 points) | query threads | median (ms) | min–max (ms) | runs |',
  );
  console.log('|---|---|---|---|---|');
  for (const [label, args] of [
    ['capped at 25 % (default)', []],
    ['uncapped (--query-cpu-percent 100)', ['--query-cpu-percent', '100']],
  ] as const) {
    const got = await queriesAlone(seeded, [...args], Number(values['query-repeats']));
    for (const [name, ls] of got)
      console.log(
        `| ${name} | ${label} | ${median(ls).toFixed(0)} | ${Math.min(...ls).toFixed(0)}–${Math.max(...ls).toFixed(0)} | ${ls.length} |`,
      );
  }
  // --repeats 0: the queries alone, without the steady-load half.
  if (Number(values.repeats) > 0) await underLoad(seeded, values);
}

async function underLoad(
  seeded: string,
  values: Record<string, string | boolean | undefined>,
): Promise<void> {
  const variants = [
    { label: 'no query load', load: false },
    { label: `Grafana-like load: 10 panels every ${Number(values['refresh-ms']) / 1000} s`, load: true },
  ];
  const results = new Map<string, Array<SteadyResult & { during?: unknown }>>(
    variants.map((v) => [v.label, []]),
  );
  for (let rep = 0; rep < Number(values.repeats); rep++) {
    for (const v of variants) {
      const db = join(tempDir('gw-promql-'), 'gateway.db');
      copyFileSync(seeded, db);
      const r = await runSteady(
        {
          devices: Number(values.devices),
          rate: 1,
          seconds: Number(values.duration),
          warmup: 5,
          db,
          extraArgs: [],
        },
        v.load
          ? {
              during: (gw) =>
                grafanaLoad(gw.httpPort, dashboardPanels('hist-00001'), Number(values['refresh-ms'])),
            }
          : {},
      );
      results.get(v.label)!.push(r);
      process.stderr.write(
        `  ${v.label} run ${rep + 1}: ack p99 ${r.ackP99Ms.toFixed(1)} ms, ack hold p99 ${r.ackHoldP99MsMedian.toFixed(1)} ms\n`,
      );
    }
  }
  console.log(
    `\nsteady load: ${values.devices} devices × 1 msg/s, QoS 1, ${values.duration} s per run, interleaved\n`,
  );
  console.log(
    '| variant | ack p50 (ms) | ack p99 (ms) | gateway ack hold p99 (ms) | event-loop p99 (ms) | longest busy stall (ms) | main thread waiting for a core (%) | gateway CPU (%) | runs |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [label, rs] of results) {
    const m = (f: (r: SteadyResult) => number) => median(rs.map(f)).toFixed(1);
    console.log(
      `| ${label} | ${m((r) => r.ackP50Ms)} | ${m((r) => r.ackP99Ms)} | ${m((r) => r.ackHoldP99MsMedian)} | ${m((r) => r.eventLoopP99MsMedian)} | ${m((r) => r.eventLoopBusyMaxMs)} | ${m((r) => r.mainCpuWaitPct)} | ${m((r) => r.gatewayCpuPct)} | ${rs.length} |`,
    );
  }
  const [off, on] = variants.map((v) => results.get(v.label)!);
  const ratio = (f: (r: SteadyResult) => number) => (median(on!.map(f)) / median(off!.map(f))).toFixed(2);
  console.log(
    `\nwith load / without: ack p99 ${ratio((r) => r.ackP99Ms)}, gateway ack hold p99 ${ratio((r) => r.ackHoldP99MsMedian)}`,
  );
  console.log(
    `per run, ack p99 (ms): ${variants
      .map(
        (v) =>
          `${v.label}: ${results
            .get(v.label)!
            .map((r) => r.ackP99Ms.toFixed(1))
            .join(', ')}`,
      )
      .join('; ')}`,
  );
  console.log('\n| panel (during ingest) | median (ms) | p95 (ms) | answers |');
  console.log('|---|---|---|---|');
  const all = new Map<string, number[]>();
  let skipped = 0;
  for (const r of on!) {
    const d = r.during as { latencies: Map<string, number[]>; skipped: number };
    skipped += d.skipped;
    for (const [name, ls] of d.latencies) all.set(name, [...(all.get(name) ?? []), ...ls]);
  }
  for (const row of latencyRows(all)) console.log(row);
  console.log(`\nrefresh rounds skipped because the previous one was still running: ${skipped}`);
}
