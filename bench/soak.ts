// Scenario "soak": N devices × 1 msg/s at QoS 1 against the built gateway at
// default flags for M minutes, reported minute by minute: RSS, heap, the
// worst event-loop stall, ack hold p50/p99 and the writer's longest
// transaction, from the gateway's own 10 s stats lines and /proc. Minute
// boundaries are where rollups used to stall ingest; memory growth shows only
// over tens of minutes.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnGateway } from '../simulators/gateway-process.js';
import { tempDir } from '../simulators/run-cli.js';
import { startPacedFleet } from './lib/paced-fleet.js';
import { median, rssBytes } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { lineChartSvg } from './lib/svg-chart.js';

interface StatsLine {
  eventLoopMaxMs?: number;
  eventLoopBusyMaxMs?: number;
  cpuWaitMaxMs?: number;
  ackHoldP50Ms?: number;
  ackHoldP99Ms?: number;
  writerLongestMs?: number;
  rollupLongestMs?: number;
  writerBusyPct?: number;
  heapUsedMb?: number;
}

interface MinuteRow {
  minute: number;
  rssMb: number;
  heapUsedMb: number;
  eventLoopMaxMs: number;
  /** the part of the longest stall that was not a wait for a core (gateway/cpu-wait.ts) */
  busyMaxMs: number;
  cpuWaitMaxMs: number;
  ackHoldP50Ms: number;
  ackHoldP99Ms: number;
  writerLongestMs: number;
  rollupLongestMs: number;
  writerBusyPct: number;
  acked: number;
}

/** one line for `npm run bench -- --help` */
export const about =
  'N devices × 1 msg/s at QoS 1 for M minutes, minute by minute: RSS, heap, event-loop stalls, ack hold and the writer';

export const options = {
  devices: { type: 'string', default: '5000' },
  minutes: { type: 'string', default: '30' },
  rate: { type: 'string', default: '1' },
  svg: { type: 'string' },
  windows: { type: 'string' },
  extra: { type: 'string', default: '' },
  'node-args': { type: 'string', default: '' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const minutes = Number(values.minutes);
  const gw = await spawnGateway(
    [
      '--db',
      join(tempDir('gw-soak-'), 'gateway.db'),
      '--stats-interval-ms',
      '10000',
      ...values.extra.split(' ').filter((a) => a !== ''),
    ],
    undefined,
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to find what a long window ran
    values['node-args'].split(' ').filter((a) => a !== ''),
  );
  const pid = gw.proc.pid!;
  const rows: MinuteRow[] = [];
  try {
    const fleet = await startPacedFleet({
      host: '127.0.0.1',
      port: gw.mqttPort,
      devices,
      rate: Number(values.rate),
      qos: 1,
      metricsPerMessage: 3,
      ramp: 2000,
    });
    fleet.window();
    process.stdout.write(
      '| minute | RSS MB | heap MB | event-loop max ms | of it busy, max ms | wait for a core, max ms | ack hold p50 ms | ack hold p99 ms | writer longest ms | rollup slice longest ms | writer busy % | acks/s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n',
    );
    for (let m = 1; m <= minutes; m++) {
      const before = gw.logs.length;
      await new Promise((r) => setTimeout(r, 60_000));
      const w = fleet.window();
      const stats = gw.logs
        .slice(before)
        .map((l) => l.stats as StatsLine | undefined)
        .filter((s): s is StatsLine => s !== undefined);
      const pick = (f: keyof StatsLine) =>
        stats.map((s) => s[f]).filter((v): v is number => typeof v === 'number');
      const row: MinuteRow = {
        minute: m,
        rssMb: rssBytes(pid) / 2 ** 20,
        heapUsedMb: Math.max(0, ...pick('heapUsedMb')),
        eventLoopMaxMs: Math.max(0, ...pick('eventLoopMaxMs')),
        busyMaxMs: Math.max(0, ...pick('eventLoopBusyMaxMs')),
        cpuWaitMaxMs: Math.max(0, ...pick('cpuWaitMaxMs')),
        ackHoldP50Ms: median(pick('ackHoldP50Ms')),
        ackHoldP99Ms: Math.max(0, ...pick('ackHoldP99Ms')),
        writerLongestMs: Math.max(0, ...pick('writerLongestMs')),
        rollupLongestMs: Math.max(0, ...pick('rollupLongestMs')),
        writerBusyPct: median(pick('writerBusyPct')),
        acked: w.acked / w.seconds,
      };
      rows.push(row);
      const f = (n: number) => n.toFixed(1);
      process.stdout.write(
        `| ${m} | ${f(row.rssMb)} | ${f(row.heapUsedMb)} | ${f(row.eventLoopMaxMs)} | ${f(row.busyMaxMs)} | ${f(row.cpuWaitMaxMs)} | ${f(row.ackHoldP50Ms)} | ${f(row.ackHoldP99Ms)} | ${f(row.writerLongestMs)} | ${f(row.rollupLongestMs)} | ${f(row.writerBusyPct)} | ${row.acked.toFixed(0)} |\n`,
      );
    }
    if (values.windows !== undefined) {
      // Every 10 s stats line of the run, for per-window figures.
      writeFileSync(
        values.windows,
        gw.logs
          .filter((l) => l.stats !== undefined)
          .map((l) => JSON.stringify({ time: l.time, ...(l.stats as object) }))
          .join('\n'),
      );
    }
    const total = fleet.window();
    await fleet.stop();
    const last10 = rows.slice(-Math.min(10, rows.length));
    const growth = (last10[last10.length - 1]!.rssMb - last10[0]!.rssMb) / last10[0]!.rssMb;
    process.stdout.write(
      `\ndevices ${devices}, ${minutes} min: RSS at end ${rows[rows.length - 1]!.rssMb.toFixed(1)} MB, growth over the last ${last10.length} minutes ${(growth * 100).toFixed(1)} %, worst event-loop max ${Math.max(...rows.map((r) => r.eventLoopMaxMs)).toFixed(1)} ms, worst minute ack hold p99 ${Math.max(...rows.map((r) => r.ackHoldP99Ms)).toFixed(1)} ms (median minute ${median(rows.map((r) => r.ackHoldP99Ms)).toFixed(1)}), unacked at stop ${total.sent - total.acked}\n`,
    );
    if (values.svg !== undefined) {
      writeFileSync(
        values.svg,
        lineChartSvg({
          title: `soak: ${devices} devices × ${values.rate}/s, QoS 1`,
          xLabel: 'minute',
          yLabel: 'MB / ms',
          series: [
            { name: 'RSS MB', color: '#1f77b4', points: rows.map((r) => [r.minute, r.rssMb]) },
            { name: 'heap MB', color: '#2ca02c', points: rows.map((r) => [r.minute, r.heapUsedMb]) },
            {
              name: 'event-loop max ms',
              color: '#d62728',
              points: rows.map((r) => [r.minute, r.eventLoopMaxMs]),
            },
            {
              name: 'ack hold p99 ms',
              color: '#ff7f0e',
              points: rows.map((r) => [r.minute, r.ackHoldP99Ms]),
            },
            {
              name: 'writer longest ms',
              color: '#9467bd',
              points: rows.map((r) => [r.minute, r.writerLongestMs]),
            },
          ],
        }),
      );
      process.stdout.write(`chart: ${values.svg}\n`);
    }
  } finally {
    // An overloaded gateway may take minutes to drain; the next run must not share the cores with it.
    await gw.stop('SIGTERM', 60_000);
  }
}
