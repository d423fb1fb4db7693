// A pg Pool with the type parsers this backend relies on, set per pool
// (pg.types.setTypeParser would change every other user of pg in the process).
import pg from 'pg';

const INT8_OID = 20;

/**
 * bigint columns (epoch ms, counts, ids) come back as JS numbers. Every value
 * stored is below 2^53 (epoch ms until year 287,396), so nothing is lost.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (text: string) => Number(text);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  },
};

export interface PgPoolOptions {
  url: string;
  max: number;
  /** application_name, so an operator can tell the gateway's connections apart in pg_stat_activity */
  applicationName: string;
  connectionTimeoutMs?: number;
}

export function createPgPool(opts: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    application_name: opts.applicationName,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    types,
  });
  // An idle connection the server dropped (restart, failover) is reported
  // here; without a listener that is an uncaught 'error' event that ends the
  // process. pg-pool has already discarded the client: the next checkout
  // connects afresh, and a real outage surfaces as a coded error on a write.
  pool.on('error', () => {});
  return pool;
}
