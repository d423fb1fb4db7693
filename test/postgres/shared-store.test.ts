// Several gateways on one PostgreSQL store (consumer mode): their writers
// store readings into the same minutes while each rewrites stale minutes
// from raw, and the tiers must still equal raw (storage/postgres/rollups/
// refresh-locks.ts gives the argument; these tests hold it to it).
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageWriter } from '../../storage/port.js';
import { applyPgBatch } from '../../storage/postgres/apply-batch.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import type { QueryService } from '../../storage/query-port.js';
import { mulberry32 } from '../analytics/random.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';
import { checkTiersEqualRaw } from '../storage/tiers-contract.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const MINUTE = 60_000;
const DEVICES = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'];
/** per gateway */
const BATCHES = 300;
/** batches into each minute, per gateway */
const PER_MINUTE = 5;

/** The value is a function of (device, ts), in eighths: two gateways storing one reading agree on it. */
function reading(device: string, ts: number): ReadingSpec {
  const v = ((ts / 1000 + DEVICES.indexOf(device) * 7) % 1601) - 800;
  return { device, metric: 'temp', ts, value: v / 8 };
}

function remember(stored: Map<string, ReadingSpec>, readings: readonly ReadingSpec[]): void {
  for (const r of readings) stored.set(`${r.device}\0${r.metric}\0${r.ts}`, r);
}

describe('two gateways on one PostgreSQL store', () => {
  let schema: TestSchema | undefined;
  const opened: Array<StorageWriter | QueryService> = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    await schema?.drop();
    schema = undefined;
  });

  it('keep the tiers equal to raw while both store into the same minutes and both refresh', async () => {
    schema = await createTestSchema();
    const a = await openPostgresWriter({ url: schema.url });
    const b = await openPostgresWriter({ url: schema.url });
    const query = openPostgresQueryService({ url: schema.url });
    opened.push(a, b, query);
    const now = Date.now();
    // Both gateways walk through closed minutes at the same pace, so each
    // minute is stored into by both while it is rewritten, then left: a
    // reading lost there would stay lost. A few hours late.
    const first = Math.floor(now / MINUTE) * MINUTE - (BATCHES / PER_MINUTE + 2) * MINUTE;
    const stored = new Map<string, ReadingSpec>();
    const gateway = async (writer: StorageWriter, seed: number) => {
      const rand = mulberry32(seed);
      for (let i = 0; i < BATCHES; i++) {
        const minute = first + Math.floor(i / PER_MINUTE) * MINUTE;
        const batch: ReadingSpec[] = [];
        for (let n = 1 + Math.floor(rand() * 12); n > 0; n--) {
          const device = DEVICES[Math.floor(rand() * DEVICES.length)]!;
          // Whole seconds: the two gateways often store the very same reading.
          const ts =
            rand() < 0.05 ? now - Math.floor(rand() * 150) * MINUTE : minute + Math.floor(rand() * 60) * 1000;
          batch.push(reading(device, ts));
        }
        await writer.write(makeBatch(batch));
        remember(stored, batch);
        await writer.refreshRollups({ now });
      }
    };
    await Promise.all([gateway(a, 1), gateway(b, 2)]);
    expect(stored.size).toBeGreaterThan(2000);
    await checkTiersEqualRaw(query, stored, now);
    // Lost marks would show once everything is rewritten: rows without the readings, and nothing stale.
    await Promise.all([a.refreshRollups({ now }), b.refreshRollups({ now })]);
    await checkTiersEqualRaw(query, stored, now);
    const [left] = await schema.query<{ n: number }>(
      'SELECT count(*)::integer AS n FROM rollups_1m_stale WHERE bucket < $1',
      [first + (BATCHES / PER_MINUTE) * MINUTE],
    );
    expect(left?.n).toBe(0);
  });

  it("a rebuild waits for a batch that stores into its minute, so the batch's reading is not lost", async () => {
    schema = await createTestSchema();
    const writer = await openPostgresWriter({ url: schema.url });
    const query = openPostgresQueryService({ url: schema.url });
    opened.push(writer, query);
    // The minute in progress by the clock, which the writer's own background
    // refresh leaves alone; the test's refresh is told it has closed.
    let minute = Math.floor(Date.now() / MINUTE) * MINUTE;
    if (Date.now() - minute > 50_000) minute += MINUTE;
    const stored = new Map<string, ReadingSpec>();
    const first = reading('d1', minute + 1000);
    const late = reading('d1', minute + 2000);
    await writer.write(makeBatch([first]));
    remember(stored, [first]);

    // Another gateway's batch: it stores a second reading of that minute (its
    // mark is already there) and has not committed yet.
    const other = new pg.Client({ connectionString: schema.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await applyPgBatch(other, makeBatch([late]), { series: new Map(), lastSeen: new Map() });
      const { rows } = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const otherPid = rows[0]!.pid;

      let settled = false;
      const refreshed = writer.refreshRollups({ now: minute + 2 * MINUTE }).finally(() => {
        settled = true;
      });
      // Until the rebuild either finished or waits for the open batch.
      for (;;) {
        const [blocked] = await schema.query<{ n: number }>(
          'SELECT count(*)::integer AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
          [otherPid],
        );
        if (settled || (blocked?.n ?? 0) > 0) break;
      }
      await other.query('COMMIT');
      remember(stored, [late]);
      await refreshed;
    } finally {
      await other.end();
    }
    await writer.refreshRollups({ now: minute + 2 * MINUTE });
    const answer = await query.series({
      device: 'd1',
      metric: 'temp',
      from: minute,
      to: minute + MINUTE,
      bucketMs: MINUTE,
      aggs: ['count', 'sum'],
    });
    expect(answer.points).toEqual([
      { bucketStart: minute, values: { count: 2, sum: first.value + late.value } },
    ]);
    await checkTiersEqualRaw(query, stored, Date.now());
  });
});
