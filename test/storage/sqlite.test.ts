import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayError } from '../../core/errors.js';
import { SCHEMA_VERSION } from '../../storage/sqlite/schema.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { storageContract } from './contract.js';
import { makeBatch, series } from './make-batch.js';

const T0 = Date.UTC(2025, 0, 1);

storageContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-sqlite-'));
  const path = join(dir, 'nested', 'gw.db');
  const writer = await openSqliteWriter({ path });
  return {
    writer,
    reader: () => openSqliteReader({ path }),
    cleanup: async () => {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite storage', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-sqlite-'));
    path = join(dir, 'gw.db');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function inspect<T>(query: (db: Database.Database) => T): T {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  }

  it('runs WAL with the synchronous level asked for', async () => {
    const normal = await openSqliteWriter({ path });
    expect(normal.settings).toMatchObject({
      journalMode: 'wal',
      synchronous: 'NORMAL',
      schemaVersion: SCHEMA_VERSION,
    });
    await normal.close();
    const full = await openSqliteWriter({ path, synchronous: 'FULL' });
    expect(full.settings.synchronous).toBe('FULL');
    await full.close();
    expect(inspect((db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('migrates once: reopening keeps the schema version and the data', async () => {
    const first = await openSqliteWriter({ path });
    await first.write(makeBatch(series('dev-1', 'temp', T0, 10)));
    await first.close();
    const second = await openSqliteWriter({ path });
    expect(second.settings.schemaVersion).toBe(SCHEMA_VERSION);
    expect(await second.write(makeBatch(series('dev-1', 'temp', T0, 10)))).toMatchObject({ duplicates: 10 });
    await second.close();
    expect(inspect((db) => db.pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION);
    expect(inspect((db) => db.prepare('SELECT count(*) FROM series').pluck().get())).toBe(1);
  });

  it('passes integrity_check after writes and leaves no WAL behind after close', async () => {
    const writer = await openSqliteWriter({ path });
    for (let i = 0; i < 5; i++) {
      await writer.write(
        makeBatch([...series('dev-1', 'temp', T0 + i * 1e6, 500), ...series('dev-2', 'hum', T0, 500)]),
      );
    }
    await writer.close();
    expect(inspect((db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
  });

  it('rejects a write over maxDbBytes with GW_ERR_STORAGE_FULL and recovers on the next batch', async () => {
    const writer = await openSqliteWriter({ path, maxDbBytes: 64 * 1024 });
    await expect(writer.write(makeBatch(series('dev-1', 'temp', T0, 20_000)))).rejects.toMatchObject({
      code: 'GW_ERR_STORAGE_FULL',
      cause: { code: 'SQLITE_FULL' },
    });
    expect(writer.health()).toMatchObject({
      state: 'failing',
      lastErrorCode: 'GW_ERR_STORAGE_FULL',
      pendingBatches: 0,
    });
    // Same series as the rolled-back batch: a stale interned id would misfile these rows.
    expect(await writer.write(makeBatch(series('dev-1', 'temp', T0, 3)))).toMatchObject({ inserted: 3 });
    expect(writer.health()).toEqual({ state: 'ok', pendingBatches: 0 });
    await writer.close();
    const reader = openSqliteReader({ path });
    expect(await reader.readings({ deviceId: 'dev-1', metric: 'temp' })).toHaveLength(3);
    expect(await reader.countReadings()).toBe(3);
    await reader.close();
  });

  it('settles a failed batch in its place among concurrent writes', async () => {
    const writer = await openSqliteWriter({ path, maxDbBytes: 64 * 1024 });
    const outcomes = await Promise.allSettled([
      writer.write(makeBatch(series('dev-1', 'temp', T0, 2))),
      writer.write(makeBatch(series('dev-2', 'temp', T0, 20_000))),
      writer.write(makeBatch(series('dev-3', 'temp', T0, 2))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writer.health().state).toBe('ok');
    await writer.close();
  });

  it('refuses a file that is not a database with GW_ERR_STORAGE_CORRUPT', async () => {
    await writeFile(path, Buffer.alloc(8192, 'not a database '));
    await expect(openSqliteWriter({ path })).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_CORRUPT' });
  });

  it('refuses a path it cannot create with GW_ERR_STORAGE_OPEN', async () => {
    // Tests run as root, where chmod does not stop writes; a file as parent directory does.
    await writeFile(join(dir, 'file.txt'), 'x');
    await expect(openSqliteWriter({ path: join(dir, 'file.txt', 'gw.db') })).rejects.toMatchObject({
      code: 'GW_ERR_STORAGE_OPEN',
    });
  });

  it('refuses bad options with GW_ERR_CONFIG_INVALID', async () => {
    await expect(openSqliteWriter({ path, maxDbBytes: -1 })).rejects.toMatchObject({
      code: 'GW_ERR_CONFIG_INVALID',
    });
    const synchronous = 'OFF' as 'FULL';
    await expect(openSqliteWriter({ path, synchronous })).rejects.toMatchObject({
      code: 'GW_ERR_CONFIG_INVALID',
    });
  });

  it('rejects pending writes and reports failing when the writer thread dies', async () => {
    const workerScript = new URL('./fixtures/dying-writer.mjs', import.meta.url);
    const writer = await openSqliteWriter({ path, workerScript });
    const writes = [1, 2].map((n) => writer.write(makeBatch(series('dev-1', 'temp', T0, n))));
    for (const write of writes) await expect(write).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE' });
    expect(writer.health()).toMatchObject({
      state: 'failing',
      lastErrorCode: 'GW_ERR_STORAGE_WRITE',
      pendingBatches: 0,
    });
    await expect(writer.write(makeBatch([]))).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE' });
    await writer.close();
    expect(writer.health().state).toBe('closed');
  });

  it('tells its owner once when the writer thread dies, after rejecting what was pending', async () => {
    const workerScript = new URL('./fixtures/dying-writer.mjs', import.meta.url);
    const deaths: Array<{ err: GatewayError; pendingBatches: number }> = [];
    let announce: () => void = () => {};
    const died = new Promise<void>((resolveDeath) => {
      announce = resolveDeath;
    });
    const writer = await openSqliteWriter({
      path,
      workerScript,
      onDeath: (err) => {
        deaths.push({ err, pendingBatches: writer.health().pendingBatches });
        announce();
      },
    });
    const write = writer.write(makeBatch(series('dev-1', 'temp', T0, 1)));
    await expect(write).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE' });
    await died;
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({
      err: { code: 'GW_ERR_STORAGE_WRITE', cause: { message: expect.stringContaining('code 3') } },
      pendingBatches: 0,
    });
    await expect(writer.write(makeBatch([]))).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE' });
    await writer.close();
    expect(deaths).toHaveLength(1);
  });

  it('does not report a death when it is closed', async () => {
    let deaths = 0;
    const writer = await openSqliteWriter({ path, onDeath: () => deaths++ });
    await writer.write(makeBatch(series('dev-1', 'temp', T0, 1)));
    await writer.close();
    expect(deaths).toBe(0);
  });

  it('reader: a missing file is GW_ERR_STORAGE_OPEN, a closed reader GW_ERR_STORAGE_CLOSED', async () => {
    expect(() => openSqliteReader({ path })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_STORAGE_OPEN' }),
    );
    await (await openSqliteWriter({ path })).close();
    const reader = openSqliteReader({ path });
    await reader.close();
    await expect(reader.devices()).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_CLOSED' });
  });
});
