import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPacer, threadCpuClock } from '../../storage/query/query-pacer.js';
import type { SeriesQuery } from '../../storage/query-port.js';
import { createSqliteQueries } from '../../storage/sqlite/query/sqlite-queries.js';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';

/** A clock the test moves by hand, and a sleep that only records. */
function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

describe('query pacer', () => {
  it('sleeps after each slice so that work is the given share of the time', () => {
    const time = fakeTime();
    const pacer = createPacer({ share: 0.25, sliceMs: 10, checkEvery: 1, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 3; i++) {
      time.advance(4);
      pacer.tick();
    }
    // 4 and 8 ms worked: under the slice; at 12 ms it pays 36 ms (12 / (12 + 36) = 0.25).
    expect(time.slept).toEqual([36]);
    time.advance(10);
    pacer.tick();
    expect(time.slept).toEqual([36, 30]);
    expect(pacer.sleptMs).toBe(66);
  });

  it('reads the clock only every checkEvery ticks', () => {
    const time = fakeTime();
    let reads = 0;
    const pacer = createPacer({
      share: 0.5,
      sliceMs: 1,
      checkEvery: 100,
      now: () => {
        reads++;
        return time.now();
      },
      sleep: time.sleep,
    });
    const atStart = reads;
    for (let i = 0; i < 99; i++) pacer.tick();
    expect(reads).toBe(atStart);
    time.advance(5);
    pacer.tick();
    expect(time.slept).toEqual([5]);
  });

  it('does not count idle time before a query as work once reset', () => {
    const time = fakeTime();
    const pacer = createPacer({ share: 0.5, sliceMs: 10, checkEvery: 1, now: time.now, sleep: time.sleep });
    time.advance(60_000); // idle between two queries
    pacer.reset();
    time.advance(2);
    pacer.tick();
    expect(time.slept).toEqual([]);
  });

  it('never sleeps at share 1, and refuses a share outside (0, 1]', () => {
    const time = fakeTime();
    const pacer = createPacer({ share: 1, sliceMs: 0, checkEvery: 1, now: time.now, sleep: time.sleep });
    time.advance(1_000);
    pacer.tick();
    expect(time.slept).toEqual([]);
    expect(() => createPacer({ share: 0 })).toThrow(RangeError);
    expect(() => createPacer({ share: 1.5 })).toThrow(RangeError);
    expect(() => createPacer({ share: Number.NaN })).toThrow(RangeError);
  });
});

describe.runIf(process.platform === 'linux')("the pacer's clock", () => {
  it("is the thread's CPU time: it advances while working, not while asleep", () => {
    const clock = threadCpuClock()!;
    expect(clock).toBeDefined();
    const t0 = clock();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    const slept = clock() - t0;
    const t1 = clock();
    const until = performance.now() + 50;
    let spin = 0;
    while (performance.now() < until) spin++;
    const worked = clock() - t1;
    expect(spin).toBeGreaterThan(0);
    expect(slept).toBeLessThan(20);
    expect(worked).toBeGreaterThan(25);
  });
});

describe('paced series queries', () => {
  const START = Date.UTC(2025, 4, 1, 0);
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-pacer-'));
    path = join(dir, 'gw.db');
    const writer = await openSqliteWriter({ path });
    const readings: ReadingSpec[] = [];
    for (let d = 0; d < 20; d++) {
      for (let i = 0; i < 600; i++) {
        readings.push({
          device: `dev-${d}`,
          metric: 'temp',
          ts: START + i * 6_000,
          value: 20 + ((i * 37 + d) % 50) / 10,
        });
      }
    }
    await writer.write(makeBatch(readings));
    // The tiers from raw now, so the paced queries read rollups as in the field.
    await writer.refreshRollups();
    await writer.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const queries: SeriesQuery[] = [
    {
      device: 'dev-*',
      metric: 'temp',
      from: START,
      to: START + 3_600_000,
      bucketMs: 60_000,
      aggs: ['count', 'avg', 'p95'],
    },
    {
      device: 'dev-*',
      metric: 'temp',
      from: START,
      to: START + 3_600_000,
      bucketMs: 30_000,
      aggs: ['count', 'max', 'p50'],
    },
  ];

  it('pauses inside the row loops of both tiers and answers exactly as an unpaced query', () => {
    const db = new Database(path, { readonly: true });
    try {
      const plain = createSqliteQueries(db);
      let pauses = 0;
      // A zero-length slice: every clock check is over budget, so every check pauses.
      const paced = createSqliteQueries(
        db,
        createPacer({ share: 0.5, sliceMs: 0, checkEvery: 64, sleep: () => pauses++ }),
      );
      for (const q of queries) {
        const before = pauses;
        const expected = plain.series(q);
        expect(expected.points.length).toBeGreaterThan(0);
        expect(paced.series(q)).toEqual(expected);
        // 12 000 rows raw, 400 rollup rows: each loop crossed checkEvery more than once.
        expect(pauses - before).toBeGreaterThanOrEqual(5);
      }
    } finally {
      db.close();
    }
  });

  it('a reader thread capped at 10 % of a core gives the uncapped answer', async () => {
    const capped = openSqliteQueryService({ path, cpuShare: 0.1 });
    const uncapped = openSqliteQueryService({ path });
    try {
      for (const q of queries) expect(await capped.series(q)).toEqual(await uncapped.series(q));
    } finally {
      await capped.close();
      await uncapped.close();
    }
  });
});
