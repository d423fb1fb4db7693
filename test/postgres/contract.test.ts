// The storage contract suite (test/storage/contract.ts), run against
// PostgreSQL: a fresh schema per test, dropped after.

import { openPostgresReader } from '../../storage/postgres/postgres-reader.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import { rollupContract, storageContract } from '../storage/contract.js';
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
