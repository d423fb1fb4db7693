// The background re-aggregation's patience (storage/rollup-refresh.ts,
// REFRESH_QUIET_MS): a closed minute still taking readings, as during an
// edge's backlog drain, is left for later while quiet minutes are rewritten,
// and is rewritten once quiet, or once it has waited REFRESH_MAX_DEFER_MS.
// runAll waits for nothing. Virtual time: the marks' clock and `now` are ours.

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MINUTE_MS, REFRESH_MAX_DEFER_MS, REFRESH_QUIET_MS } from '../../storage/rollup-refresh.js';
import { prepareBatchApplier } from '../../storage/sqlite/apply-batch.js';
import { prepareRollupRefresher } from '../../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../../storage/sqlite/schema.js';
import { makeBatch } from './make-batch.js';

const T = 1_700_000_040_000; // a minute's start
const OLD = T - 30 * MINUTE_MS;
const OLDER = OLD - MINUTE_MS;

function setup() {
  const db = new Database(':memory:');
  migrate(db);
  let clock = T;
  const marks = prepareStaleMarks(db, () => clock);
  const apply = prepareBatchApplier(db, marks, () => {});
  const refresher = prepareRollupRefresher(db, marks);
  const store = (ts: number, value: number) => apply(makeBatch([{ device: 'd', metric: 'm', ts, value }]));
  const count = (bucket: number) =>
    db.prepare('SELECT count FROM rollups_1m WHERE bucket = ?').pluck().get(bucket) as number | undefined;
  const stale = (bucket: number) =>
    db.prepare('SELECT count(*) FROM rollups_1m_stale WHERE bucket = ?').pluck().get(bucket) as number;
  const stepAt = (now: number) => {
    clock = now;
    while (refresher.step(Number.POSITIVE_INFINITY, now, true)) {
      // until it has nothing more to do at this time
    }
  };
  return {
    db,
    refresher,
    store,
    count,
    stale,
    stepAt,
    at(now: number) {
      clock = now;
    },
  };
}

describe('background re-aggregation leaves a busy minute for later', () => {
  it('rewrites the quiet minute and waits for the busy one until it is quiet', () => {
    const g = setup();
    g.at(T);
    g.store(OLDER, 1);
    g.at(T + 10_000);
    g.store(OLD, 1);
    g.store(OLD + 1, 2);

    g.stepAt(T + 10_000 + REFRESH_QUIET_MS - 1);
    expect(g.count(OLDER)).toBe(1);
    expect(g.stale(OLDER)).toBe(0);
    expect(g.count(OLD)).toBeUndefined();
    expect(g.stale(OLD)).toBe(1);

    g.stepAt(T + 10_000 + REFRESH_QUIET_MS);
    expect(g.count(OLD)).toBe(2);
    expect(g.stale(OLD)).toBe(0);
    g.db.close();
  });

  it('rewrites a minute that never goes quiet once it has waited REFRESH_MAX_DEFER_MS', () => {
    const g = setup();
    let now = T;
    let n = 0;
    // A reading a second in the same old minute: it is never quiet for REFRESH_QUIET_MS.
    while (g.count(OLD) === undefined && now <= T + 2 * REFRESH_MAX_DEFER_MS) {
      g.at(now);
      g.store(OLD + n, n);
      n++;
      g.stepAt(now);
      now += 1_000;
    }
    const waited = now - 1_000 - T;
    expect(waited).toBeGreaterThanOrEqual(REFRESH_MAX_DEFER_MS);
    expect(waited).toBeLessThan(REFRESH_MAX_DEFER_MS + 2_000);
    expect(g.count(OLD)).toBe(n);
    g.db.close();
  });

  it('runAll rewrites a busy minute at once', () => {
    const g = setup();
    g.at(T);
    g.store(OLD, 5);
    expect(g.refresher.runAll(T).minuteRows).toBe(1);
    expect(g.count(OLD)).toBe(1);
    g.db.close();
  });
});
