// One answer's reads in one REPEATABLE READ snapshot: the rows, the stale
// marks and the raw readings agree (postgres-queries.ts, postgres-promql.ts).
import type pg from 'pg';

export type Connectable = Pick<pg.Pool, 'query' | 'connect'>;

export async function readSnapshot<T>(
  db: Connectable,
  read: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await db.connect();
  let broken = false;
  const markBroken = () => {
    broken = true;
  };
  // A checked-out client's connection error would otherwise be an uncaught 'error' event.
  client.on('error', markBroken);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const out = await read(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(markBroken);
    throw err;
  } finally {
    client.off('error', markBroken);
    client.release(broken);
  }
}
