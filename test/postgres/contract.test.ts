// The storage contract suite (test/storage/contract.ts), run against
// PostgreSQL: a fresh schema per test, dropped after.

import { openPostgresReader } from '../../storage/postgres/postgres-reader.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import { rollupContract, storageContract } from '../storage/contract.js';
import { exportContract } from '../storage/export-contract.js';
import { tiersContract } from '../storage/tiers-contract.js';
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

/** A store with its query service, as the gateway uses them; a fresh schema each time. */
async function queryStore() {
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
}

rollupContract('postgres', queryStore);
exportContract('postgres', queryStore);

tiersContract(
  'postgres',
  async () => {
    const schema = await createTestSchema();
    const store = {
      writer: await openPostgresWriter({ url: schema.url }),
      query: () => openPostgresQueryService({ url: schema.url }),
      reopen: async () => {
        await store.writer.close();
        return openPostgresWriter({ url: schema.url });
      },
      cleanup: async () => {
        await store.writer.close();
        await schema.drop();
      },
    };
    return store;
  },
  40,
);
