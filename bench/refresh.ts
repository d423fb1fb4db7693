// Scenario "refresh": what the re-aggregation costs the SQLite writer, alone.
// Stores M minutes of N devices × 3 metrics at 1 reading/s through the same
// batch applier the writer thread uses (one batch a second), and, as the
// writer thread does, rewrites each minute once it has closed (5 s after its
// end), in 4 ms slices: writer time per minute of data for the batches and
// for the re-aggregation, and the slice lengths an ingest commit could wait
// behind. Once with the writer's folds (storage/sqlite/rollups/minute-folds.ts)
// and once without (every minute read back from raw), alternately, --repeats
// times each; the median of each.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { emptyWriteBatch } from '../storage/empty-batch.js';
import { MINUTE_MS, REFRESH_GRACE_MS, REFRESH_SLICE_MS } from '../storage/rollup-refresh.js';
import { prepareBatchApplier } from '../storage/sqlite/apply-batch.js';
import { prepareMinuteFolds } from '../storage/sqlite/rollups/minute-folds.js';
import { prepareRollupRefresher } from '../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../storage/sqlite/schema.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

export const about =
  'the re-aggregation alone on SQLite, minute by minute as the writer runs it, with and without the writer folds: writer time per minute of data and slice lengths';

export const options = {
  devices: { type: 'string', default: '5000' },
  minutes: { type: 'string', default: '3' },
  repeats: { type: 'string', default: '2' },
} satisfies ScenarioOptions;

interface RunResult {
  ingestMs: number;
  refreshMs: number;
  readBack: number;
  minuteRows: number;
  slices: number[];
}

function runOnce(devices: number, minutes: number, folding: boolean): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'gw-refresh-'));
  const db = new Database(join(dir, 'gateway.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    migrate(db);
    const marks = prepareStaleMarks(db);
    const folds = folding ? prepareMinuteFolds(db) : undefined;
    const refresher = prepareRollupRefresher(db, marks, folds);
    const apply = prepareBatchApplier(db, marks, () => {}, undefined, folds);
    const names = Array.from({ length: devices }, (_, i) => `sim-${i}`);
    const start = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const perSecond = devices * 3;
    const slices: number[] = [];
    let ingestMs = 0;
    let refreshMs = 0;
    const refreshAt = (now: number) => {
      for (let more = true; more; ) {
        const s = performance.now();
        more = refresher.step(s + REFRESH_SLICE_MS, now);
        const took = performance.now() - s;
        slices.push(took);
        refreshMs += took;
      }
    };
    const graceS = REFRESH_GRACE_MS / 1000;
    for (let second = 0; second < minutes * 60 + graceS + 1; second++) {
      if (second < minutes * 60) {
        const deviceIndex = new Uint32Array(perSecond);
        const metricIndex = new Uint32Array(perSecond);
        const ts = new Float64Array(perSecond);
        const value = new Float64Array(perSecond);
        for (let i = 0; i < perSecond; i++) {
          deviceIndex[i] = Math.floor(i / 3);
          metricIndex[i] = i % 3;
          ts[i] = start + second * 1000 + (i % 997);
          value[i] = 20 + Math.sin(i + second);
        }
        const t = performance.now();
        apply({
          ...emptyWriteBatch(),
          readings: { devices: names, metrics: ['t', 'h', 'p'], deviceIndex, metricIndex, ts, value },
        });
        ingestMs += performance.now() - t;
      }
      // A minute is rewritten once closed: REFRESH_GRACE_MS after its end.
      if (second >= 60 && second % 60 === graceS) refreshAt(start + (second + 1) * 1000);
    }
    const done = refresher.takeOutcome();
    return { ingestMs, refreshMs, readBack: done.readings, minuteRows: done.minuteRows, slices };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const minutes = Number(values.minutes);
  const repeats = Number(values.repeats);
  const runs: Record<'raw' | 'folds', RunResult[]> = { raw: [], folds: [] };
  for (let r = 0; r < repeats; r++) {
    runs.raw.push(runOnce(devices, minutes, false));
    runs.folds.push(runOnce(devices, minutes, true));
  }
  const perMin = (ms: number) => ms / minutes / 1000;
  const lines = [
    `${devices} devices × 3 metrics × ${minutes} min at 1/s (${(devices * 3 * 60 * minutes).toLocaleString('en')} readings), each minute rewritten once closed; median of ${repeats} runs each, alternating`,
    '',
    '| minutes rewritten from | batches: writer s per min of data | re-aggregation: writer s per min of data | raw readings read back | slice p99 (ms) | slice max (ms) | runs (re-aggregation s/min) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, rs] of Object.entries(runs)) {
    const q = (r: RunResult, p: number) => {
      const s = [...r.slices].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    };
    lines.push(
      `| ${name === 'raw' ? 'raw (no folds)' : "the writer's folds"} | ${median(rs.map((r) => perMin(r.ingestMs))).toFixed(2)} | ${median(rs.map((r) => perMin(r.refreshMs))).toFixed(2)} | ${median(rs.map((r) => r.readBack)).toLocaleString('en')} | ${median(rs.map((r) => q(r, 0.99))).toFixed(2)} | ${median(rs.map((r) => q(r, 1))).toFixed(2)} | ${rs.map((r) => perMin(r.refreshMs).toFixed(2)).join(', ')} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
