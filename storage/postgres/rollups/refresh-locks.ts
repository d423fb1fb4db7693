// How the tiers stay equal to raw when several gateways share one store.
//
// What must hold at every commit: for each stored reading, either its
// (series, minute) is listed in rollups_1m_stale, or the committed 1-minute
// row of that (series, minute) counts it. The same holds one level up for a
// minute row and its hour.
//
// A row lock on the mark is not enough. Say a rebuild takes its marks
// FOR UPDATE, reads raw, deletes the marks and commits, and another gateway
// stores a reading in that minute meanwhile. Its mark INSERT ... ON CONFLICT
// DO NOTHING finds the mark still there, only row-locked, and returns at once
// without waiting (a lock-only xmax counts as a live row for the conflict
// check; tried on PostgreSQL 15). If that reading commits after the rebuild's
// read, the rebuild deletes the mark without having counted it.
//
// So each minute has an advisory lock (transaction scoped, keyed by schema and
// minute). A batch takes it SHARED for every minute it stores readings in,
// before anything else, and holds it to COMMIT; a rebuild takes it EXCLUSIVE
// before it reads the minute's marks and raw readings. The two cannot overlap:
// - the batch committed first: the rebuild's statements (READ COMMITTED, each
//   with a snapshot taken after the lock was granted) see its readings;
// - the batch got its lock after the rebuild committed: its mark insert runs
//   after the delete committed, finds no conflict and inserts, so the mark
//   stays for the next rebuild.
// Batches share the lock, so ingest never waits for ingest; it waits for a
// rebuild only when it writes late into the very minute being rebuilt. The
// hour level is the same: a minute rebuild takes its hour's lock SHARED before
// it marks the hour; an hour rebuild takes it EXCLUSIVE before it reads.
//
// Deadlocks: a batch takes its minutes' locks in ascending order before any
// row lock, and inserts its marks in key order; a rebuild takes one exclusive
// lock, then at most its hour's shared lock, and writes rows (in key order)
// that otherwise only retention deletes. A deadlock with a retention step
// there (very late readings older than the 1-minute retention) aborts one
// side with GW_ERR_STORAGE_BUSY, and it is retried.
// Advisory locks are per database, so the key includes the schema; a hash
// collision only makes two keys wait for each other.
import type pg from 'pg';

type Level = '1m' | '1h';

const key = (level: Level, bucket: string) =>
  `hashtextextended(current_schema() || '/${level}/' || ${bucket}, 0)`;

/** A batch's minutes, shared; `buckets` ascending and distinct. Call first in the transaction. */
export async function shareMinutes(client: pg.ClientBase, buckets: readonly number[]): Promise<void> {
  if (buckets.length === 0) return;
  // A function scan yields the array in order: the locks are taken in it.
  await client.query(
    `SELECT pg_advisory_xact_lock_shared(${key('1m', 'b')}) FROM unnest($1::bigint[]) AS b`,
    [buckets],
  );
}

/** A rebuild of `bucket` at `level`: waits for the batches (or rebuilds) in it to commit. */
export async function excludeBucket(client: pg.ClientBase, level: Level, bucket: number): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(${key(level, '$1::bigint')})`, [bucket]);
}

/** A minute rebuild is about to mark `hour` stale. */
export async function shareHour(client: pg.ClientBase, hour: number): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock_shared(${key('1h', '$1::bigint')})`, [hour]);
}
