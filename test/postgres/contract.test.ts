// The storage contract suite (test/storage/contract.ts), run against
// PostgreSQL: a fresh schema per test, dropped after.

import { openPostgresReader } from '../../storage/postgres/postgres-reader.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import { rollupContract, storageContract } from '../storage/contract.js';
import { rollupRecoveryContract, type StoredRollupRow } from '../storage/rollup-recovery-contract.js';
import { createTestSchema } from './pg-schema.js';

storageContract('postgres', async () => {
  const schema = await createTestSchema();
  const writer = await openPostgresWriter({ url: schema.url });
  return {
    writer,
    reader: () => openPostgresReader({ url: schema.url }),
    cleanup: async () => {
      await writer.close();
      await schema.drop();
    },
  };
});

rollupContract('postgres', async () => {
  const schema = await createTestSchema();
  const writer = await openPostgresWriter({ url: schema.url });
  return {
    writer,
    query: () => openPostgresQueryService({ url: schema.url }),
    cleanup: async () => {
      await writer.close();
      await schema.drop();
    },
  };
});

rollupRecoveryContract('postgres', async () => {
  const schema = await createTestSchema();
  const writer = await openPostgresWriter({ url: schema.url });
  return {
    writer,
    query: () => openPostgresQueryService({ url: schema.url }),
    async rows(table) {
      const rows = await schema.query<Omit<StoredRollupRow, 'sketch'> & { sketch: Buffer }>(
        `SELECT s.device_id AS device, s.metric, r.bucket::float8 AS bucket, r.count::float8 AS count, r.sum,
           r.m2, r.min, r.max, r.first_ts::float8 AS "firstTs", r.first_value AS first,
           r.last_ts::float8 AS "lastTs", r.last_value AS last, r.sketch
         FROM ${table} r JOIN series s ON s.id = r.series_id ORDER BY s.device_id, s.metric, r.bucket`,
      );
      return rows.map((r) => ({ ...r, sketch: Array.from(r.sketch) }));
    },
    cleanup: async () => {
      await writer.close();
      await schema.drop();
    },
  };
});
