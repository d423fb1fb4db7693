// Scenario "forward": how fast an edge gateway drains its backlog after an
// uplink outage (issue: 5000 devices × 1 msg/s × 3 metrics for an hour, 54 M
// readings, at ≥ 50k readings/s). The backlog is seeded into the edge's
// database through the writer's own batch applier and forward log, in
// ingest-sized batches (--batch readings, devices interleaved as they commit);
// then a real edge gateway (--forward) and a real central gateway of ours run
// as processes, optionally with a live fleet still publishing to the edge,
// and the edge's /api/stats is read until the backlog is gone.

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { ForwardState } from '../gateway/forward/forward-state.js';
import { type GatewayProcess, spawnGateway } from '../simulators/gateway-process.js';
import { emptyWriteBatch } from '../storage/empty-batch.js';
import { prepareBatchApplier } from '../storage/sqlite/apply-batch.js';
import { prepareForwardLog } from '../storage/sqlite/forward-log.js';
import { prepareRollupRefresher } from '../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../storage/sqlite/schema.js';
import { startPacedFleet } from './lib/paced-fleet.js';
import { cpuSeconds } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

export const about =
  'drain rate of an edge gateway (--forward) after an uplink outage, into a central gateway of ours, with a live fleet still publishing';

export const options = {
  devices: { type: 'string', default: '5000' },
  /** seconds of outage: each device's one message a second of 3 metrics */
  seconds: { type: 'string', default: '120' },
  batch: { type: 'string', default: '2000' },
  /** devices still publishing to the edge at 1 msg/s while it drains */
  live: { type: 'string', default: '500' },
  /** extra flags for the central gateway, e.g. "--connection-rate 1000" */
  'central-args': { type: 'string', default: '--connection-rate 0' },
  'edge-args': { type: 'string', default: '' },
  /** a folder: both gateways run with node --cpu-prof, writing one profile per thread to {folder}/edge and {folder}/central */
  profile: { type: 'string', default: '' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const seconds = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'gw-forward-'));
  say(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} cores)`,
  );
  const edgeDb = join(dir, 'edge.db');
  const started: GatewayProcess[] = [];
  try {
    const seeded = seedBacklog(edgeDb, devices, seconds, Number(values.batch));
    say(
      `seeded ${seeded.readings.toLocaleString('en')} readings (${devices} devices × ${seconds} s × 3 metrics) in ${seeded.batches} batches, ${(seeded.ms / 1000).toFixed(1)} s`,
    );
    const nodeArgs = (name: string): string[] =>
      values.profile === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(values.profile, name)}`];
    const central = await spawnGateway(
      ['--db', join(dir, 'central.db'), ...words(values['central-args'])],
      {},
      nodeArgs('central'),
    );
    started.push(central);
    const edge = await spawnGateway(
      ['--db', edgeDb, '--forward', `mqtt://127.0.0.1:${central.mqttPort}`, ...words(values['edge-args'])],
      {},
      nodeArgs('edge'),
    );
    started.push(edge);
    const fleet =
      Number(values.live) > 0
        ? await startPacedFleet({
            host: '127.0.0.1',
            port: edge.mqttPort,
            devices: Number(values.live),
            rate: 1,
            qos: 1,
            metricsPerMessage: 3,
            ramp: 500,
            prefix: 'live',
          })
        : undefined;
    const result = await measureDrain(edge, central, seeded.lastSeq);
    const live = fleet?.window();
    await fleet?.stop();
    report(result, seeded.readings, live);
    for (const [name, g] of [
      ['edge', edge],
      ['central', central],
    ] as const) {
      const warnings = g.logs.filter((l) => typeof l.level === 'number' && l.level >= 40);
      if (warnings.length > 0)
        say(`  ${name}: ${warnings.length} warnings, first: ${JSON.stringify(warnings[0])}`);
    }
  } finally {
    for (const g of started.reverse()) await g.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Drain {
  ms: number;
  forwarded: number;
  edgeCpu: number;
  centralCpu: number;
  /** readings the central stored, per second of the drain */
  perSecond: number[];
  /** the central's counters over the drain (/metrics) */
  central: CentralCounters;
}

interface CentralCounters {
  stored: number;
  writerBusyS: number;
  /** raw readings the rollup re-aggregation read again */
  rollupRead: number;
}

/** From the edge's first upstream connection until the cursor is past the seeded backlog. */
async function measureDrain(edge: GatewayProcess, central: GatewayProcess, lastSeq: number): Promise<Drain> {
  const first = await pollUntil(edge, (s) => s.connected);
  const edgeCpu0 = cpuSeconds(edge.pid);
  const centralCpu0 = cpuSeconds(central.pid);
  const central0 = await centralCounters(central);
  const t0 = performance.now();
  const perSecond: number[] = [];
  // The edge's figures move a page at a time (the cursor); the central's stored count moves per commit.
  let last = central0.stored;
  let lastAt = t0;
  const done = await pollUntil(edge, async (s) => {
    const now = performance.now();
    if (now - lastAt >= 1000) {
      const { stored } = await centralCounters(central);
      perSecond.push(((stored - last) * 1000) / (now - lastAt));
      last = stored;
      lastAt = now;
    }
    // Live readings keep coming, so the backlog is rarely empty: the seeded part is done when the cursor passes it.
    return s.cursor >= lastSeq;
  });
  const ms = performance.now() - t0;
  const central1 = await centralCounters(central);
  return {
    ms,
    forwarded: done.forwardedReadings - first.forwardedReadings,
    edgeCpu: cpuSeconds(edge.pid) - edgeCpu0,
    centralCpu: cpuSeconds(central.pid) - centralCpu0,
    perSecond,
    central: {
      stored: central1.stored - central0.stored,
      writerBusyS: central1.writerBusyS - central0.writerBusyS,
      rollupRead: central1.rollupRead - central0.rollupRead,
    },
  };
}

async function centralCounters(central: GatewayProcess): Promise<CentralCounters> {
  const text = await (await fetch(`http://127.0.0.1:${central.httpPort}/metrics`)).text();
  const read = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(name.length + 1));
  };
  return {
    stored: read('gateway_readings_stored_total'),
    writerBusyS: read('gateway_writer_busy_seconds_total'),
    rollupRead: read('gateway_rollup_readings_read_total'),
  };
}

async function pollUntil(
  edge: GatewayProcess,
  done: (s: ForwardState) => boolean | Promise<boolean>,
): Promise<ForwardState> {
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${edge.httpPort}/api/stats`);
    const { forward } = (await res.json()) as { forward: ForwardState };
    if (await done(forward)) return forward;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function report(d: Drain, backlog: number, live: { acked: number; p99: number } | undefined): void {
  const sorted = [...d.perSecond].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  say(
    [
      `drained ${backlog.toLocaleString('en')} readings of backlog (${d.forwarded.toLocaleString('en')} forwarded in all, live ones included) in ${(d.ms / 1000).toFixed(1)} s`,
      `  drain rate: ${Math.round((d.forwarded * 1000) / d.ms).toLocaleString('en')} readings/s on average; stored by the central per second: p50 ${Math.round(at(0.5)).toLocaleString('en')}, min ${Math.round(at(0)).toLocaleString('en')}, max ${Math.round(at(1)).toLocaleString('en')}`,
      `  central: ${d.central.stored.toLocaleString('en')} readings stored, writer thread busy ${d.central.writerBusyS.toFixed(1)} s of ${(d.ms / 1000).toFixed(1)} s, rollup re-aggregation read ${d.central.rollupRead.toLocaleString('en')} raw readings (${(d.central.rollupRead / Math.max(1, d.central.stored)).toFixed(2)} per stored)`,
      `  CPU over the drain: edge ${d.edgeCpu.toFixed(1)} s, central ${d.centralCpu.toFixed(1)} s (all threads); per forwarded reading: edge ${((d.edgeCpu / d.forwarded) * 1e6).toFixed(1)} µs, central ${((d.centralCpu / d.forwarded) * 1e6).toFixed(1)} µs`,
      live === undefined
        ? ''
        : `  live fleet meanwhile: ${live.acked} messages acked by the edge, ack p99 ${live.p99.toFixed(1)} ms`,
    ].join('\n'),
  );
}

/** The backlog an outage leaves: ingest-sized batches in commit order, each also in the forward log. */
function seedBacklog(path: string, devices: number, seconds: number, batchReadings: number) {
  const t = performance.now();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  const forward = prepareForwardLog(db, { maxBacklogReadings: 0 });
  const marks = prepareStaleMarks(db);
  const apply = prepareBatchApplier(db, marks, () => {}, forward);
  const names = Array.from({ length: devices }, (_, i) => `edge-${i}`);
  const start = Date.now() - (seconds + 60) * 1000;
  const total = devices * seconds * 3;
  let batches = 0;
  for (let from = 0; from < total; from += batchReadings) {
    const n = Math.min(batchReadings, total - from);
    const readings = {
      devices: names,
      metrics: ['temperature', 'humidity', 'pressure'],
      deviceIndex: new Uint32Array(n),
      metricIndex: new Uint32Array(n),
      ts: new Float64Array(n),
      value: new Float64Array(n),
    };
    for (let k = 0; k < n; k++) {
      const i = from + k;
      const message = Math.floor(i / 3);
      readings.deviceIndex[k] = message % devices;
      readings.metricIndex[k] = i % 3;
      readings.ts[k] = start + Math.floor(message / devices) * 1000;
      readings.value[k] = 20 + (message % 7);
    }
    apply({ ...emptyWriteBatch(), readings });
    batches++;
  }
  // The edge rewrote its own rollups during the outage: the drain should not pay for that.
  prepareRollupRefresher(db, marks).runAll(Date.now());
  const lastSeq = db.prepare('SELECT max(seq) FROM forward_log').pluck().get() as number;
  db.close();
  return { readings: total, batches, lastSeq, ms: performance.now() - t };
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}
