// One run of the writer-cpu scenario, in a process of its own: the batch
// applier of the build at argv[2] (this one, or another for a before/after
// comparison) applies pre-built batches on the main thread, and the CPU the
// process spent meanwhile (V8's GC helpers included) is printed as JSON.
// Only module paths that every build since the minute folds has are imported
// from the other build. The run covers about 22 s of simulated time: one
// minute folded, no rollup rewrite.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRandom } from '../../simulators/fuzz/mutate.js';
import type { WriteBatch } from '../../storage/port.js';

export type WriterValues = 'sensor' | 'uniform';

const DEVICES = 5000;
const METRICS = ['temperature', 'humidity', 'pressure'];
/** what a commit carries at saturation: bench saturate's batches are about this many messages */
const MESSAGES_PER_BATCH = 667;

/**
 * Messages from 5000 devices in a shuffled order per round, three readings
 * each, 47,000 a second of simulated time (saturation's rate): each device's
 * next message is far from its last, as at the gateway. `sensor` values move
 * a little from one reading to the next; `uniform` ones jump anywhere in a
 * 1-wide band.
 */
function batches(count: number, values: WriterValues, seed: number): WriteBatch[] {
  const random = createRandom(seed).next;
  const order = Array.from({ length: DEVICES }, (_, i) => i);
  const shuffle = () => {
    for (let i = DEVICES - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  };
  shuffle();
  let seq = 0;
  let t = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const out: WriteBatch[] = [];
  for (let b = 0; b < count; b++) {
    const ids = new Map<string, number>();
    const devices: string[] = [];
    const n = MESSAGES_PER_BATCH * METRICS.length;
    const deviceIndex = new Uint32Array(n);
    const metricIndex = new Uint32Array(n);
    const ts = new Float64Array(n);
    const value = new Float64Array(n);
    const seen: number[] = [];
    for (let m = 0; m < MESSAGES_PER_BATCH; m++) {
      const device = order[seq % DEVICES]!;
      seq++;
      if (seq % DEVICES === 0) shuffle();
      const name = `bench-${device}`;
      let d = ids.get(name);
      if (d === undefined) {
        d = devices.push(name) - 1;
        ids.set(name, d);
      }
      const at = Math.floor(t);
      t += 1000 / 47_000;
      seen[d] = at;
      for (let k = 0; k < METRICS.length; k++) {
        const row = m * METRICS.length + k;
        deviceIndex[row] = d;
        metricIndex[row] = k;
        ts[row] = at;
        value[row] =
          values === 'sensor'
            ? 20 + k + 0.3 * Math.sin(seq / 50_000 + device) + 0.05 * random()
            : 20 + k + random();
      }
    }
    out.push({
      // Numbered as the gateway numbers them (pipelines/device-numbers.ts); a build from before ignores the numbers.
      readings: {
        devices,
        deviceNumbers: Int32Array.from(devices, (name) => Number(name.slice('bench-'.length))),
        metrics: METRICS,
        deviceIndex,
        metricIndex,
        ts,
        value,
      },
      deadLetters: [],
      devices: { deviceIndex: Uint32Array.from(devices, (_, i) => i), seenAt: Float64Array.from(seen) },
    });
  }
  return out;
}

async function main() {
  const [build, countText = '1500', values = 'sensor'] = process.argv.slice(2);
  if (build === undefined) throw new Error('usage: writer-cpu-child <build dir> [batches] [sensor|uniform]');
  const from = (path: string) => import(pathToFileURL(join(build, path)).href);
  const { openWriteConnection } = await from('storage/sqlite/connection.js');
  const { prepareStaleMarks } = await from('storage/sqlite/rollups/stale-marks.js');
  const { prepareMinuteFolds } = await from('storage/sqlite/rollups/minute-folds.js');
  const { prepareRollupRefresher } = await from('storage/sqlite/rollups/rollup-refresher.js');
  const { prepareBatchApplier } = await from('storage/sqlite/apply-batch.js');
  const dir = mkdtempSync(join(tmpdir(), 'gw-writer-cpu-'));
  try {
    const { db } = openWriteConnection({
      path: join(dir, 'gateway.db'),
      busyTimeoutMs: 5000,
      synchronous: 'NORMAL',
      cacheSize: -64 * 1024,
    });
    const marks = prepareStaleMarks(db);
    const folds = prepareMinuteFolds(db);
    const refresher = prepareRollupRefresher(db, marks, folds);
    const apply = prepareBatchApplier(
      db,
      marks,
      (before: number) => refresher.prunedBefore(before),
      undefined,
      folds,
    );
    const count = Number(countText);
    // The first round of devices creates their series: not what is measured.
    const all = batches(20 + count, values as WriterValues, 42);
    for (const batch of all.slice(0, 20)) apply(batch);
    const started = process.cpuUsage();
    for (const batch of all.slice(20)) apply(batch);
    const used = process.cpuUsage(started);
    db.close();
    const messages = count * MESSAGES_PER_BATCH;
    process.stdout.write(`${JSON.stringify({ usPerMessage: (used.user + used.system) / messages })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
