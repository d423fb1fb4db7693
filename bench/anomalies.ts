// Scenario "anomalies": precision and recall of the gateway's anomaly
// detector against the spikes the simulator injects, on a seeded run. The
// built gateway runs on a fresh database with analytics on; the simulator
// (the real `npm run sim`) drives it; the gateway scores each batch as it
// commits; then the stored alerts (state 'raised') are matched to the injected
// spikes on device, metric and ts, and the delay from ack to alert is read
// from the gateway's gateway_alert_delay_seconds histogram. The seed fixes the method, not the figures: the simulator
// hashes (seed, device, wall-clock instant), so each run injects a different,
// equally likely set of about 400 spikes, and the figures vary a little.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DETECTOR_DEFAULTS } from '../pipelines/analytics-workers/anomaly-detector.js';
import { spawnGateway } from '../simulators/gateway-process.js';
import { runCli, tempDir } from '../simulators/run-cli.js';
import type { SimSummary } from '../simulators/sim-summary.js';
import { openReader } from '../storage/open-storage.js';
import {
  type DetectionScore,
  type InjectedSpike,
  type SeriesReading,
  scoreDetections,
} from './lib/detection-score.js';
import type { ScenarioOptions } from './lib/scenario.js';

/** the query's most (storage/query/params.ts MAX_ANOMALY_LIMIT): reaching it means we may not have them all */
const ANOMALY_LIMIT = 10_000;
const HOUR_MS = 3_600_000;

class BenchFailure extends Error {}

/** one line for `npm run bench -- --help` */
export const about =
  "precision and recall of the anomaly detector against the simulator's injected spikes, on a seeded run, and the delay from ack to alert";

export const options = {
  devices: { type: 'string', default: '200' },
  duration: { type: 'string', default: '120' },
  seed: { type: 'string', default: '7' },
  // At the simulator's default of 2 per device-hour, 200 devices × 120 s
  // inject about 13 spikes: too few to measure a rate. 60 gives ~400.
  spikes: { type: 'string', default: '60' },
  // Off by default, to measure the detector alone: readings buffered
  // through a dropout are replayed after newer ones, so they are judged
  // as late readings (against the baseline, without updating it).
  dropouts: { type: 'string', default: '0' },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const started = performance.now();
  try {
    const run = await runAgainstGateway(values);
    const score = scoreDetections(run.spikes, run.detections);
    printReport(values, run, score, argv, (performance.now() - started) / 1000);
  } catch (err) {
    if (!(err instanceof BenchFailure)) throw err;
    process.stderr.write(`anomalies: FAILED: ${err.message}\n`);
    process.exitCode = 1;
  }
}

interface Options {
  devices: string;
  duration: string;
  seed: string;
  spikes: string;
  dropouts: string;
}

interface Run {
  simArgs: string[];
  summary: SimSummary;
  spikes: InjectedSpike[];
  /** alerts raised: the detections */
  detections: SeriesReading[];
  cleared: number;
  delay: AlertDelay;
}

async function runAgainstGateway(o: Options): Promise<Run> {
  const db = join(tempDir('gw-anomalies-'), 'gateway.db');
  const from = Date.now() - HOUR_MS;
  const gw = await spawnGateway(['--db', db, '--analytics', 'on']);
  const simArgs = [
    ...['--devices', o.devices, '--rate', '1', '--qos', '1', '--duration', o.duration, '--seed', o.seed],
    ...['--spikes', o.spikes, '--dropouts', o.dropouts],
    ...['--url', `mqtt://127.0.0.1:${gw.mqttPort}`, '--json', '--quiet'],
  ];
  process.stderr.write(`  simulating: node build/cli/sim-cli.js ${simArgs.join(' ')}\n`);
  let sim: Awaited<ReturnType<typeof runCli>>;
  let gatewayExit: number | null;
  let metrics = '';
  try {
    sim = await runCli('cli/sim-cli.js', simArgs);
    // Every message was acked before the simulator exits, and alerts follow within
    // moments; the histogram is read before the stop, which scores whatever is left.
    metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
  } finally {
    gatewayExit = await gw.stop('SIGTERM');
  }
  const summary = parseSummary(sim.stdout, sim.stderr);
  // A failed start prints only {ok, error}: no counters to read.
  const unacked = summary.messages?.unacked ?? 0;
  if (unacked > 0) throw new BenchFailure(`the simulator reports ${unacked} unacknowledged messages`);
  if (!summary.ok || sim.code !== 0)
    throw new BenchFailure(
      `the simulator exited ${sim.code}: ${summary.error?.code ?? ''} ${summary.error?.message ?? sim.stderr}`,
    );
  if (summary.anomalies.truncated)
    throw new BenchFailure(
      `the simulator listed ${summary.anomalies.list.length} of ${summary.anomalies.count} spikes; run fewer devices, a shorter duration or fewer --spikes`,
    );
  if (gatewayExit !== 0)
    throw new BenchFailure(`the gateway exited ${gatewayExit} on SIGTERM: ${gw.stderr().slice(-2000)}`);
  const lost = gw.logs.find((l) => (l.level as number) >= 40 && String(l.msg).startsWith('analytics:'));
  if (lost !== undefined) throw new BenchFailure(`the gateway logged "${String(lost.msg)}"`);

  const spikes = await markWarmup(db, summary);
  const alerts = await storedAlerts(db, from, Date.now() + HOUR_MS);
  const detections = alerts.filter((a) => a.state === 'raised');
  const delay = alertDelay(metrics);
  return { simArgs, summary, spikes, detections, cleared: alerts.length - detections.length, delay };
}

function parseSummary(stdout: string, stderr: string): SimSummary {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as SimSummary;
  } catch {
    throw new BenchFailure(`no JSON summary from the simulator; its stderr: ${stderr.slice(-2000)}`);
  }
}

/**
 * The simulator does not report readings per series, and a series' first
 * reading depends on when its device connected and on its clock skew, so the
 * count before each spike is read back from the store instead: ts is unique
 * and increasing per device, so the stored readings of the series with an
 * earlier ts are the ones sent before it. That holds only if every reading
 * sent was stored, which is checked first. The reader is the one the query
 * CLI uses (`npm run query -- readings`), called in-process: one CLI start per
 * spike would cost minutes.
 */
async function markWarmup(db: string, summary: SimSummary): Promise<InjectedSpike[]> {
  const reader = openReader(db);
  try {
    const stored = await reader.countReadings();
    if (stored !== summary.readings.sent)
      throw new BenchFailure(
        `the store holds ${stored} readings but the simulator sent ${summary.readings.sent}: readings before a spike cannot be counted`,
      );
    const spikes: InjectedSpike[] = [];
    for (const { deviceId, metric, ts } of summary.anomalies.list) {
      const before = await reader.readings({ deviceId, metric, to: ts, limit: DETECTOR_DEFAULTS.warmup });
      spikes.push({ deviceId, metric, ts, afterWarmup: before.length >= DETECTOR_DEFAULTS.warmup });
    }
    return spikes;
  } finally {
    await reader.close();
  }
}

async function storedAlerts(
  db: string,
  from: number,
  to: number,
): Promise<Array<SeriesReading & { state: string }>> {
  const args = ['anomalies', '--db', db, '--from', String(from), '--to', String(to)];
  const q = await runCli('cli/query-cli.js', [
    ...args,
    ...['--limit', String(ANOMALY_LIMIT), '--format', 'json'],
  ]);
  if (q.code !== 0) throw new BenchFailure(`npm run query -- anomalies exited ${q.code}: ${q.stderr}`);
  const rows = JSON.parse(q.stdout) as Array<SeriesReading & { state: string }>;
  if (rows.length >= ANOMALY_LIMIT)
    throw new BenchFailure(`${rows.length} alerts reach the query's limit: some may be left out`);
  return rows.map(({ deviceId, metric, ts, state }) => ({ deviceId, metric, ts, state }));
}

interface AlertDelay {
  count: number;
  /** interpolated inside the histogram's buckets, as Prometheus' histogram_quantile does */
  p50: number | null;
  p99: number | null;
  /** share of alerts published within 2 s of the ack (exact: 2 s is a bucket bound) */
  within2s: number | null;
}

/** The gateway's gateway_alert_delay_seconds histogram, read from /metrics text. */
function alertDelay(metrics: string): AlertDelay {
  const buckets: Array<[number, number]> = [];
  for (const m of metrics.matchAll(/^gateway_alert_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    buckets.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
  }
  const count = buckets.at(-1)?.[1] ?? 0;
  if (count === 0) return { count, p50: null, p99: null, within2s: null };
  const quantile = (q: number): number => {
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (const [le, cumulative] of buckets) {
      if (cumulative >= rank) {
        if (le === Number.POSITIVE_INFINITY) return lower;
        return lower + ((le - lower) * (rank - below)) / Math.max(1, cumulative - below);
      }
      lower = le;
      below = cumulative;
    }
    return lower;
  };
  const within = buckets.find(([le]) => le === 2)?.[1] ?? 0;
  return { count, p50: quantile(0.5), p99: quantile(0.99), within2s: within / count };
}

function printReport(o: Options, run: Run, score: DetectionScore, argv: string[], wallS: number): void {
  const s = run.summary;
  const { warmup, threshold, alpha, smallSample } = DETECTOR_DEFAULTS;
  const ratio = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(
    `anomalies: ${o.devices} devices × 1 msg/s (${s.metrics.join(', ')}), QoS 1, ${o.duration} s, seed ${o.seed}, ${o.spikes} spikes per device-hour, ${o.dropouts} dropouts per device-hour; ${s.readings.sent} readings sent and stored; detector: EWMA z-score, alpha ${alpha}, threshold ${threshold} × (1 + ${smallSample}/n) for a baseline of n readings, warm-up ${warmup} readings per series; an alert clears after 5 normal readings (the default)\n`,
  );
  console.log('| | count |');
  console.log('|---|---|');
  console.log(`| injected spikes | ${score.injected} |`);
  console.log(
    `| of which after warm-up (≥ ${warmup} readings of the series before) | ${score.injectedAfterWarmup} |`,
  );
  console.log(`| detections (alerts raised) | ${score.detections} |`);
  console.log(`| alerts cleared (not detections) | ${run.cleared} |`);
  if (score.duplicateDetections > 0)
    console.log(`| duplicate detections (not counted) | ${score.duplicateDetections} |`);
  console.log(`| true positives | ${score.truePositives} |`);
  console.log(`| false positives | ${sum(score.falsePositivesByMetric)} |`);
  console.log(`| missed spikes | ${sum(score.missedByMetric)} |`);
  console.log(`| missed spikes after warm-up | ${sum(score.missedAfterWarmupByMetric)} |`);
  console.log(`| **precision** | ${ratio(score.precision)} |`);
  console.log(`| **recall** | ${ratio(score.recall)} |`);
  console.log(`| **recall after warm-up** | ${ratio(score.recallAfterWarmup)} |`);
  const d = run.delay;
  const ms = (s: number | null) => (s === null ? 'n/a' : `${(s * 1000).toFixed(1)} ms`);
  console.log(
    `\nalert delay, ack → alert published (gateway_alert_delay_seconds, ${d.count} alerts raised or cleared): p50 ${ms(d.p50)}, p99 ${ms(d.p99)} (interpolated inside histogram buckets); within 2 s: ${d.within2s === null ? 'n/a' : `${(d.within2s * 100).toFixed(1)} %`}`,
  );

  const injectedBy: Record<string, number> = {};
  for (const sp of run.spikes) injectedBy[sp.metric] = (injectedBy[sp.metric] ?? 0) + 1;
  const metrics = [
    ...new Set([...s.metrics, ...Object.keys(injectedBy), ...Object.keys(score.falsePositivesByMetric)]),
  ];
  console.log('\n| metric | injected | missed | missed after warm-up | false positives |');
  console.log('|---|---|---|---|---|');
  for (const m of metrics) {
    console.log(
      `| ${m} | ${injectedBy[m] ?? 0} | ${score.missedByMetric[m] ?? 0} | ${score.missedAfterWarmupByMetric[m] ?? 0} | ${score.falsePositivesByMetric[m] ?? 0} |`,
    );
  }
  console.log(`\ncommand: npm run bench -- anomalies ${argv.join(' ')}`.trimEnd());
  console.log(
    `  (in full: --devices ${o.devices} --duration ${o.duration} --seed ${o.seed} --spikes ${o.spikes} --dropouts ${o.dropouts})`,
  );
  console.log(
    `simulator: node build/cli/sim-cli.js ${run.simArgs.join(' ').replace(/--url \S+/, '--url mqtt://127.0.0.1:<port>')}`,
  );
  console.log(`wall time: ${wallS.toFixed(0)} s`);
}
