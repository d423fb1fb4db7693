// The background re-aggregation leaves a closed minute alone while readings
// keep going into it, instead of reading the whole minute from raw again
// after every batch; once the minute has been quiet it is rewritten, and an
// explicit refresh (refreshRollups) never waits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MINUTE_MS, REFRESH_QUIET_MS } from '../../storage/rollup-refresh.js';
import { prepareBatchApplier } from '../../storage/sqlite/apply-batch.js';
import { openWriteConnection } from '../../storage/sqlite/connection.js';
import { prepareRollupRefresher } from '../../storage/sqlite/rollups/rollup-refresher.js';
import { prepareStaleMarks } from '../../storage/sqlite/rollups/stale-marks.js';
import { makeBatch } from './make-batch.js';

describe('the re-aggregation waits for a minute to go quiet', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function open() {
    const dir = await mkdtemp(join(tmpdir(), 'gw-quiet-'));
    const { db } = openWriteConnection({
      path: join(dir, 'gw.db'),
      synchronous: 'NORMAL',
      busyTimeoutMs: 1000,
      cacheSize: -2000,
    });
    cleanups.push(async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    });
    const marks = prepareStaleMarks(db);
    const refresher = prepareRollupRefresher(db, marks);
    const apply = prepareBatchApplier(db, marks, (before) => refresher.prunedBefore(before), undefined);
    const minuteRows = () => db.prepare('SELECT count(*) FROM rollups_1m').pluck().get() as number;
    return { apply, refresher, minuteRows };
  }

  const minute = Math.floor((Date.now() - 3_600_000) / MINUTE_MS) * MINUTE_MS;
  const batch = (i: number) => makeBatch([{ device: 'late', metric: 'm', ts: minute + i, value: i }]);

  it('skips a minute written within the quiet period, rewrites it once quiet', async () => {
    const { apply, refresher, minuteRows } = await open();
    apply(batch(1));
    const now = Date.now();
    expect(refresher.step(Number.POSITIVE_INFINITY, now, REFRESH_QUIET_MS)).toBe(false);
    expect(minuteRows()).toBe(0);
    expect(refresher.takeOutcome().readings).toBe(0);

    // Later, with no reading since: the minute is rewritten.
    while (refresher.step(Number.POSITIVE_INFINITY, now + REFRESH_QUIET_MS, REFRESH_QUIET_MS)) {
      // until nothing closed is stale
    }
    expect(minuteRows()).toBe(1);
    expect(refresher.takeOutcome()).toMatchObject({ minuteRows: 1, readings: 1 });
  });

  it('an explicit refresh rewrites at once', async () => {
    const { apply, refresher, minuteRows } = await open();
    apply(batch(1));
    apply(batch(2));
    expect(refresher.runAll(Date.now())).toMatchObject({ minuteRows: 1, readings: 2 });
    expect(minuteRows()).toBe(1);
  });
});
