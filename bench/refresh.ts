// Scenario "refresh": what the re-aggregation costs the SQLite writer, alone.
// Stores M minutes of N devices × 3 metrics at 1 reading/s (through the same
// batch applier the writer thread uses, with its stale marks), then runs the
// refresher in 4 ms slices, as the writer thread does, until nothing closed is
// stale: total writer time per minute of data, and the slice lengths that an
// ingest commit could wait behind.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { emptyWriteBatch } from '../storage/empty-batch.js';
import { REFRESH_SLICE_MS } from '../storage/rollup-refresh.js';
import { prepareBatchApplier } from '../storage/sqlite/apply-batch.js';
import { prepareRollupRefresher } from '../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../storage/sqlite/schema.js';
import type { ScenarioOptions } from './lib/scenario.js';

export const about = 'the re-aggregation alone on SQLite: writer time per minute of data and slice lengths';

export const options = {
  devices: { type: 'string', default: '5000' },
  minutes: { type: 'string', default: '3' },
} satisfies ScenarioOptions;

const HOUR = 3_600_000;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const minutes = Number(values.minutes);
  const dir = mkdtempSync(join(tmpdir(), 'gw-refresh-'));
  const db = new Database(join(dir, 'gateway.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    migrate(db);
    const marks = prepareStaleMarks(db);
    const refresher = prepareRollupRefresher(db, marks);
    const apply = prepareBatchApplier(db, marks, () => {});
    const names = Array.from({ length: devices }, (_, i) => `sim-${i}`);
    const start = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const perSecond = devices * 3;
    let t = performance.now();
    for (let second = 0; second < minutes * 60; second++) {
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
      apply({
        ...emptyWriteBatch(),
        readings: { devices: names, metrics: ['t', 'h', 'p'], deviceIndex, metricIndex, ts, value },
      });
    }
    const ingestMs = performance.now() - t;
    const slices: number[] = [];
    t = performance.now();
    for (let more = true; more; ) {
      const s = performance.now();
      more = refresher.step(s + REFRESH_SLICE_MS, start + 3 * HOUR);
      slices.push(performance.now() - s);
    }
    const refreshMs = performance.now() - t;
    const done = refresher.takeOutcome();
    slices.sort((a, b) => a - b);
    const at = (q: number) => slices[Math.min(slices.length - 1, Math.floor(q * slices.length))]!;
    process.stdout.write(
      [
        `${devices} devices × 3 metrics × ${minutes} min at 1/s: ${(perSecond * 60 * minutes).toLocaleString('en')} readings stored in ${(ingestMs / 1000).toFixed(1)} s`,
        `re-aggregation: ${(refreshMs / 1000).toFixed(2)} s in all, ${(refreshMs / minutes / 1000).toFixed(2)} s of writer time per minute of data (${((refreshMs / minutes / 60_000) * 100).toFixed(1)} % of one core at this load)`,
        `  ${done.minuteRows.toLocaleString('en')} minute rows and ${done.hourRows.toLocaleString('en')} hour rows from ${done.readings.toLocaleString('en')} readings`,
        `  ${slices.length} slices of ${REFRESH_SLICE_MS} ms budget: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
