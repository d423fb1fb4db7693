// The writer's folds (storage/sqlite/rollups/minute-folds.ts): a minute the
// writer folded as it stored it is rewritten without reading it back, and
// the tiers it writes are the very rows a rewrite from raw writes. Each case
// feeds the same batches to two stores, one folding and one not, and
// compares their rollup tables row for row (fractions to 12 digits). The
// cases are the ways a fold could drift from raw.

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { WriteBatch } from '../../storage/port.js';
import { MINUTE_MS } from '../../storage/rollup-refresh.js';
import { type BatchApplier, prepareBatchApplier } from '../../storage/sqlite/apply-batch.js';
import {
  FOLD_KEEP_MS,
  MAX_FOLDED_MINUTES,
  prepareMinuteFolds,
} from '../../storage/sqlite/rollups/minute-folds.js';
import {
  prepareRollupRefresher,
  type RollupRefresher,
} from '../../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../../storage/sqlite/schema.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';

const T = 1_700_000_040_000; // a minute's start
const CLOSED = T + 4 * MINUTE_MS; // `now` at which the first three minutes are closed, and still folded

interface Store {
  db: Database.Database;
  apply: BatchApplier;
  refresher: RollupRefresher;
}

function open(db: Database.Database, folding: boolean): Store {
  const marks = prepareStaleMarks(db, () => T);
  const folds = folding ? prepareMinuteFolds(db) : undefined;
  const refresher = prepareRollupRefresher(db, marks, folds);
  const apply = prepareBatchApplier(db, marks, (before) => refresher.prunedBefore(before), undefined, folds);
  return { db, apply, refresher };
}

function pair() {
  const fresh = () => {
    const db = new Database(':memory:');
    migrate(db);
    return db;
  };
  let folded = open(fresh(), true);
  let refreshedTo = T;
  const plain = open(fresh(), false);
  const both = <R>(f: (s: Store) => R): [R, R] => [f(folded), f(plain)];
  return {
    get folded() {
      return folded;
    },
    write: (batch: () => WriteBatch) => both((s) => s.apply(batch())),
    /**
     * Rewrites what closes from the last call up to `now`, a minute at a
     * time, as the writer's background job does; returns how many raw
     * readings the folding store read back.
     */
    refresh(now = CLOSED): number {
      let readBack = 0;
      for (let t = Math.min(refreshedTo + MINUTE_MS, now); t <= now; t += MINUTE_MS) {
        plain.refresher.runAll(t);
        readBack += folded.refresher.runAll(t).readings;
        refreshedTo = t;
      }
      return readBack;
    },
    restartFolded() {
      folded = open(folded.db, true);
    },
    expectSameTiers() {
      for (const table of ['rollups_1m', 'rollups_1h', 'rollups_fleet_1m', 'rollups_1m_stale']) {
        const rows = (db: Database.Database) =>
          (db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all() as Record<string, unknown>[]).map(
            toDigits,
          );
        expect(rows(folded.db), table).toEqual(rows(plain.db));
      }
      expect(folded.db.prepare('SELECT count(*) FROM rollups_1m').pluck().get()).toBeGreaterThan(0);
    },
  };
}

/**
 * Fractions to 12 digits: m2 (Welford's) and the fleet's sums of averages
 * depend on the order they are added in, to the last bit (folded in arrival
 * order, read back in key order).
 */
function toDigits(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v,
    ]),
  );
}

/** n devices × 2 metrics, one reading each per 10 s over `minutes` minutes from `start`. */
function readings(
  start: number,
  minutes: number,
  n = 20,
  value = (i: number) => (i % 17) / 8,
): ReadingSpec[] {
  const out: ReadingSpec[] = [];
  let i = 0;
  for (let t = start; t < start + minutes * MINUTE_MS; t += 10_000)
    for (let d = 0; d < n; d++)
      for (const metric of ['t', 'h']) out.push({ device: `d${d}`, metric, ts: t + d, value: value(i++) });
  return out;
}

describe('a minute folded by the writer', () => {
  it('is rewritten without reading raw back, to the same rows as a rewrite from raw', () => {
    const p = pair();
    // And devices that report on the minute only, each reading alone in its fleet window: every minute, and once.
    const onTheMinute = [
      ...[0, 1, 2].map((k) => ({ device: 'm', metric: 't', ts: T + k * MINUTE_MS, value: k / 8 })),
      { device: 'n', metric: 't', ts: T + 2 * MINUTE_MS, value: 5 },
    ];
    const rs = [...readings(T, 3), ...onTheMinute].sort((a, b) => a.ts - b.ts);
    for (let i = 0; i < rs.length; i += 100) p.write(() => makeBatch(rs.slice(i, i + 100)));
    expect(p.refresh()).toBe(0);
    p.expectSameTiers();
  });

  it('reads raw for the series a multi-row insert with some duplicates left uncertain', () => {
    const p = pair();
    const rs = readings(T, 2);
    const few = (r: ReadingSpec) => ['d0', 'd1', 'd2'].includes(r.device);
    p.write(() => makeBatch(rs.slice(0, 200)));
    // For 6 of the 40 series, 64-row statements part duplicates (with other
    // values), part new: which ones the statement does not say. The other
    // series stay folded in the same minutes.
    const again = [
      ...rs.slice(0, 200).filter(few),
      ...rs
        .slice(200)
        .filter(few)
        .map((r) => ({ ...r, value: r.value + 100 })),
    ];
    p.write(() => makeBatch(again));
    p.write(() => makeBatch(rs.slice(200).filter((r) => !few(r))));
    // Compared as each minute closes too: a later rewrite from raw would hide a wrong row meanwhile.
    expect(p.refresh(T + 2 * MINUTE_MS)).toBeGreaterThan(0);
    p.expectSameTiers();
    p.refresh();
    p.expectSameTiers();
  });

  it('is read from raw when it held readings before the writer started', () => {
    const p = pair();
    const rs = readings(T, 2);
    p.write(() => makeBatch(rs.slice(0, 150)));
    p.restartFolded();
    p.write(() => makeBatch(rs.slice(150)));
    expect(p.refresh()).toBeGreaterThan(0);
    p.expectSameTiers();
  });

  it('forgets what a rolled-back batch folded', () => {
    const p = pair();
    const rs = readings(T, 2);
    p.write(() => makeBatch(rs.slice(0, 100)));
    // A dead letter without a payload fails the batch after its readings went in: the transaction rolls back.
    const failing = (): WriteBatch => {
      const batch = makeBatch(rs.slice(100, 200).map((r) => ({ ...r, value: r.value + 50 })));
      return { ...batch, deadLetters: [{ deviceId: 'd0' } as WriteBatch['deadLetters'][number]] };
    };
    expect(() => p.folded.apply(failing())).toThrow();
    p.write(() => makeBatch(rs.slice(100)));
    p.refresh();
    p.expectSameTiers();
  });

  it('reads a fleet window from raw when a rollback dropped its minute while the window was being taken', () => {
    // 1040 series: more than one slice of the window job. The rolled-back
    // batch lands between two of the job's slices, wherever that is: each
    // round stops the folding store after one more single-slice step.
    const failing = (): WriteBatch => ({
      ...makeBatch([{ device: 'd519', metric: 't', ts: T + 30_500, value: 500 }]),
      deadLetters: [{ deviceId: 'd0' } as WriteBatch['deadLetters'][number]],
    });
    for (let k = 0; k < 40; k++) {
      const p = pair();
      const rs = readings(T, 2, 520);
      for (let i = 0; i < rs.length; i += 2000) p.write(() => makeBatch(rs.slice(i, i + 2000)));
      for (let n = 0; n < k; n++) p.folded.refresher.step(Number.NEGATIVE_INFINITY, T + 2 * MINUTE_MS);
      expect(() => p.folded.apply(failing())).toThrow();
      p.refresh(T + 2 * MINUTE_MS);
      p.expectSameTiers();
    }
  });

  it('takes late readings into a folded minute after its rewrite, and reads raw for a minute it dropped', () => {
    const p = pair();
    p.write(() => makeBatch(readings(T, 2)));
    expect(p.refresh(T + 2 * MINUTE_MS)).toBe(0);
    // Late, into the first minute, rewritten but still folded (the next has not closed yet): no raw read.
    p.write(() => makeBatch(readings(T + 5_000, 1, 5, () => 3)));
    expect(p.refresh(T + 2 * MINUTE_MS + 4_000)).toBe(0);
    p.expectSameTiers();
    // Long after: the minute was dropped (FOLD_KEEP_MS), a late reading is read with its minute from raw.
    p.refresh(T + FOLD_KEEP_MS + 5 * MINUTE_MS);
    p.write(() => makeBatch([{ device: 'd1', metric: 't', ts: T + 7_000, value: 7 }]));
    expect(p.refresh(T + FOLD_KEEP_MS + 6 * MINUTE_MS)).toBeGreaterThan(0);
    p.expectSameTiers();
  });

  it('keeps at most MAX_FOLDED_MINUTES at once; the minutes beyond are read from raw', () => {
    const p = pair();
    // One batch over MAX_FOLDED_MINUTES + 3 minutes, 36 readings each (3 devices × 2 metrics × 6).
    p.write(() => makeBatch(readings(T, MAX_FOLDED_MINUTES + 3, 3)));
    // Closed three minutes at a time, before they age out: the folded ones read nothing back...
    for (let closedUpTo = 3; closedUpTo <= MAX_FOLDED_MINUTES; closedUpTo += 3)
      expect(p.refresh(T + (closedUpTo + 1) * MINUTE_MS), `up to minute ${closedUpTo}`).toBe(0);
    // ...the three past the cap are read from raw.
    expect(p.refresh(T + (MAX_FOLDED_MINUTES + 4) * MINUTE_MS)).toBe(3 * 36);
    p.expectSameTiers();
  });

  it('is read from raw once retention deleted raw readings there', () => {
    const p = pair();
    p.write(() => makeBatch(readings(T, 3)));
    const prune = (): WriteBatch => ({
      ...makeBatch([]),
      prune: { tier: 'raw', before: T + MINUTE_MS, maxRows: 100_000 },
    });
    p.write(prune);
    p.write(() => makeBatch(readings(T + 30_000, 1, 5, () => 2)));
    p.refresh();
    p.expectSameTiers();
  });
});
