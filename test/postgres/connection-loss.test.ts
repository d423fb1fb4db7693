import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageWriter } from '../../storage/port.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { makeBatch, series } from '../storage/make-batch.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

describe('PostgreSQL connection loss', () => {
  let schema: TestSchema;
  let writer: StorageWriter;
  beforeAll(async () => {
    schema = await createTestSchema();
    writer = await openPostgresWriter({ url: schema.url });
  });
  afterAll(async () => {
    await writer.close();
    await schema.drop();
  });

  it("writes recover after the server drops the writer's connections", async () => {
    const T0 = Date.now() - 60_000;
    await writer.write(makeBatch(series('pg-loss', 'temp', T0, 10)));
    // Kill every backend of the writer's pool, as a server restart would.
    // The subquery picks the victims first: SQL does not promise to evaluate AND left to right.
    const killed = await schema.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM (SELECT pid FROM pg_stat_activity WHERE application_name = 'sensor-gateway writer') AS victims`,
    );
    expect(killed.length).toBeGreaterThan(0);
    // The pool hands out a fresh connection, or the write fails with a code; either way no crash.
    const outcome = await writer.write(makeBatch(series('pg-loss', 'temp', T0 + 10_000, 10))).then(
      (r) => ({ ok: true as const, inserted: r.inserted }),
      (err: { code?: string }) => ({ ok: false as const, code: err.code }),
    );
    if (outcome.ok) expect(outcome.inserted).toBe(10);
    else expect(outcome.code).toMatch(/^GW_ERR_STORAGE_/);
    const after = await writer.write(makeBatch(series('pg-loss', 'temp', T0 + 20_000, 10)));
    expect(after.inserted).toBe(10);
  });
});
