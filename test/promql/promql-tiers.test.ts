// The PromQL property (promql-contract.ts) on both backends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { createTestSchema } from '../postgres/pg-schema.js';
import { promqlContract } from './promql-contract.js';

describe('PromQL on SQLite', () => {
  promqlContract(
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gw-promql-'));
      const path = join(dir, 'gw.db');
      const writer = await openSqliteWriter({ path });
      return {
        writer,
        query: () => openSqliteQueryService({ path }),
        reopen: () => openSqliteWriter({ path }),
        cleanup: async () => {
          await writer.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    15,
    true,
  );
});

describe('PromQL on PostgreSQL', () => {
  promqlContract(
    'postgres',
    async () => {
      const schema = await createTestSchema();
      const writer = await openPostgresWriter({ url: schema.url });
      return {
        writer,
        query: () => openPostgresQueryService({ url: schema.url }),
        reopen: () => openPostgresWriter({ url: schema.url }),
        cleanup: async () => {
          await writer.close();
          await schema.drop();
        },
      };
    },
    15,
  );
});
