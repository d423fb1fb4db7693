// A fresh PostgreSQL schema per test run, on the server of the project's
// machines (127.0.0.1:5432, trust auth, database `test`). There is no skip:
// an unreachable server fails the tests, as .ci/run's check says up front.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE_URL = process.env.GATEWAY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** the base URL with search_path set to the schema, as a user would pass to --db */
  url: string;
  /** runs SQL in the schema (for assertions) */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function schemaUrl(base: string, schema: string): string {
  const url = new URL(base);
  // Commits without waiting for the WAL flush: the tests check logic, and the
  // server itself never crashes in them (a gateway's kill -9 loses nothing
  // either way). Waiting made the tier property test, thousands of small
  // transactions, slow by ten times whenever the disk was busy (a checkpoint
  // of the suite's thousands of relation files).
  url.searchParams.set('options', `-c search_path=${schema} -c synchronous_commit=off`);
  return url.toString();
}

export async function createTestSchema(prefix = 'gw_test'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_BASE_URL} (start it: pg_ctlcluster --skip-systemctl-redirect 15 main start): ${(err as Error).message}`,
    );
  }
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.query(`SET search_path = ${name}`);
  let dropped = false;
  return {
    name,
    url: schemaUrl(PG_BASE_URL, name),
    query: async (sql, params) => (await admin.query(sql, params)).rows,
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP SCHEMA ${name} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}
