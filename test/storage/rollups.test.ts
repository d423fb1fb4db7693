// Rollup tiers against the raw readings on SQLite: the backend's contract
// runs (tests shared with PostgreSQL) and the pooled query service.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Aggregate, SeriesQuery } from '../../storage/query-port.js';
import { createSqliteQueries } from '../../storage/sqlite/query/sqlite-queries.js';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { mulberry32, randomValue } from '../analytics/random.js';
import { rollupContract } from './contract.js';
import { exportContract } from './export-contract.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';
import { tiersContract } from './tiers-contract.js';

async function sqliteStore(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'gw.db');
  return { dir, path, writer: await openSqliteWriter({ path }) };
}

/** A store with its query service, as the gateway uses them. */
async function queryStore() {
  const { dir, path, writer } = await sqliteStore('gw-rollups-');
  return {
    writer,
    query: () => openSqliteQueryService({ path }),
    cleanup: async () => {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

rollupContract('sqlite', queryStore);
exportContract('sqlite', queryStore);

tiersContract(
  'sqlite',
  async () => {
    const { dir, path, writer } = await sqliteStore('gw-tiers-');
    const store = {
      writer,
      query: () => openSqliteQueryService({ path }),
      reopen: async () => {
        await store.writer.close();
        return openSqliteWriter({ path });
      },
      cleanup: async () => {
        await store.writer.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return store;
  },
  40,
);

const HOUR = 3_600_000;
const START = Date.UTC(2025, 2, 3, 7); // hour-aligned
const SPAN = 3 * HOUR;
const AGGS: readonly Aggregate[] = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'stddev',
  'last',
  'p50',
  'p95',
  'p99',
];

function randomReadings(seed: number): ReadingSpec[] {
  const rand = mulberry32(seed);
  const out: ReadingSpec[] = [];
  for (let i = 0; i < 3000; i++) {
    const device = ['dev-a', 'dev-b', 'dev-c'][Math.floor(rand() * 3)]!;
    out.push({
      device,
      metric: 'temp',
      ts: START + Math.floor(rand() * SPAN),
      value: randomValue(rand, seed),
    });
  }
  return out;
}

describe('sqlite query service', () => {
  it('the pooled query service answers as the in-process queries do, off the main thread', async () => {
    const { dir, path, writer } = await sqliteStore('gw-pooled-');
    await writer.write(makeBatch(randomReadings(7)));
    await writer.refreshRollups();
    await writer.close();
    const query = openSqliteQueryService({ path });
    const db = new Database(path, { readonly: true });
    try {
      const q: SeriesQuery = {
        device: '*',
        metric: 'temp',
        from: START,
        to: START + SPAN,
        bucketMs: HOUR,
        aggs: AGGS,
      };
      const pooled = await query.series(q);
      expect(pooled.points).toHaveLength(3);
      expect(pooled).toEqual(createSqliteQueries(db).series(q));
      await expect(query.series({ ...q, device: 'bad device' })).rejects.toMatchObject({
        code: 'GW_ERR_QUERY_INVALID',
      });
    } finally {
      db.close();
      await query.close();
      await rm(dir, { recursive: true, force: true });
    }
    await expect(query.devices()).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_CLOSED' });
  });
});
