// Scenario "storage": the writer alone, no MQTT. Readings/s into SQLite with
// the production schema, pragmas and writer thread, fed the way the pipeline
// feeds it: columnar batches, time-ordered, many series. synchronous NORMAL
// and FULL run interleaved; medians.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../simulators/run-cli.js';
import { emptyWriteBatch } from '../storage/empty-batch.js';
import type { WriteBatch } from '../storage/port.js';
import { openSqliteWriter } from '../storage/sqlite/sqlite-writer.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

function makeBatch(devices: number, metrics: number, rows: number, start: number, t0: number): WriteBatch {
  const deviceNames = Array.from({ length: devices }, (_, i) => `dev-${i}`);
  const metricNames = Array.from({ length: metrics }, (_, i) => `m${i}`);
  const deviceIndex = new Uint32Array(rows);
  const metricIndex = new Uint32Array(rows);
  const ts = new Float64Array(rows);
  const value = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const n = start + r;
    const reading = Math.floor(n / metrics);
    deviceIndex[r] = reading % devices;
    metricIndex[r] = n % metrics;
    // Each device reports once a second, spread over the second; time order.
    ts[r] = t0 + Math.floor((reading * 1000) / devices);
    value[r] = n % 100;
  }
  return {
    readings: { devices: deviceNames, metrics: metricNames, deviceIndex, metricIndex, ts, value },
    deadLetters: [],
    devices: emptyWriteBatch().devices,
  };
}

export async function runStorage(opts: {
  synchronous: 'NORMAL' | 'FULL';
  rows: number;
  batch: number;
  inFlight: number;
}) {
  const writer = await openSqliteWriter({
    path: join(tempDir('gw-storage-bench-'), 'gateway.db'),
    synchronous: opts.synchronous,
  });
  const t0 = Date.now() - 86_400_000;
  // Batches are built before the clock starts: this measures the writer, not the encoder.
  const batches = Array.from({ length: Math.ceil(opts.rows / opts.batch) }, (_, i) =>
    makeBatch(5000, 3, Math.min(opts.batch, opts.rows - i * opts.batch), i * opts.batch, t0),
  );
  const started = performance.now();
  let inserted = 0;
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const result = await writer.write(batches[next++]!);
      inserted += result.inserted;
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  if (inserted !== opts.rows) throw new Error(`stored ${inserted} of ${opts.rows} rows`);
  return { synchronous: opts.synchronous, rowsPerSec: opts.rows / seconds, seconds };
}

/** one line for `npm run bench -- --help` */
export const about =
  'the SQLite writer alone, no MQTT: readings/s with the production schema, synchronous NORMAL and FULL interleaved';

export const options = {
  rows: { type: 'string', default: '2000000' },
  batch: { type: 'string', default: '2000' },
  'in-flight': { type: 'string', default: '2' },
  repeats: { type: 'string', default: '3' },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const opts = {
    rows: Number(values.rows),
    batch: Number(values.batch),
    inFlight: Number(values['in-flight']),
  };
  const results: Record<string, number[]> = { NORMAL: [], FULL: [] };
  for (let rep = 0; rep < Number(values.repeats); rep++) {
    for (const synchronous of ['NORMAL', 'FULL'] as const) {
      const r = await runStorage({ ...opts, synchronous });
      results[synchronous]!.push(r.rowsPerSec);
      process.stderr.write(`  ${synchronous} run ${rep + 1}: ${r.rowsPerSec.toFixed(0)} rows/s\n`);
    }
  }
  console.log(
    `storage: ${opts.rows} readings (5000 devices × 3 metrics, time-ordered), batches of ${opts.batch}, ${opts.inFlight} in flight\n`,
  );
  console.log('| synchronous | readings/s median (min–max) | runs |');
  console.log('|---|---|---|');
  for (const [mode, rs] of Object.entries(results)) {
    console.log(
      `| ${mode} | ${median(rs).toFixed(0)} (${Math.min(...rs).toFixed(0)}–${Math.max(...rs).toFixed(0)}) | ${rs.length} |`,
    );
  }
  console.log(`\nFULL / NORMAL: ${(median(results.FULL!) / median(results.NORMAL!)).toFixed(2)}`);
}
