import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveWorkerScript } from '../../core/worker-script.js';
import { gatewayCodeForSqlite } from '../../storage/sqlite/error-map.js';
import { migrate, SCHEMA_VERSION } from '../../storage/sqlite/schema.js';

describe('gatewayCodeForSqlite', () => {
  it.each([
    ['SQLITE_FULL', 'GW_ERR_STORAGE_FULL'],
    ['SQLITE_BUSY', 'GW_ERR_STORAGE_BUSY'],
    ['SQLITE_BUSY_SNAPSHOT', 'GW_ERR_STORAGE_BUSY'],
    ['SQLITE_LOCKED', 'GW_ERR_STORAGE_BUSY'],
    ['SQLITE_IOERR', 'GW_ERR_STORAGE_IO'],
    ['SQLITE_IOERR_WRITE', 'GW_ERR_STORAGE_IO'],
    ['SQLITE_READONLY_DBMOVED', 'GW_ERR_STORAGE_READONLY'],
    ['SQLITE_CORRUPT', 'GW_ERR_STORAGE_CORRUPT'],
    ['SQLITE_NOTADB', 'GW_ERR_STORAGE_CORRUPT'],
    ['SQLITE_CANTOPEN', 'GW_ERR_STORAGE_OPEN'],
    ['SQLITE_CONSTRAINT_NOTNULL', 'GW_ERR_STORAGE_WRITE'],
    ['SQLITE_FULLNESS', 'GW_ERR_STORAGE_WRITE'],
    [undefined, 'GW_ERR_STORAGE_WRITE'],
  ])('%s -> %s', (sqliteCode, expected) => {
    expect(gatewayCodeForSqlite(sqliteCode)).toBe(expected);
  });
});

describe('migrate', () => {
  it('is a no-op the second time and refuses a newer schema', () => {
    const db = new Database(':memory:');
    expect(migrate(db)).toEqual({ from: 0, to: SCHEMA_VERSION });
    expect(migrate(db)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(db)).toThrow(RangeError);
    db.close();
  });
});

describe('resolveWorkerScript', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('from source, points into <project root>/build', () => {
    const root = new URL('../../', import.meta.url);
    const caller = new URL('storage/sqlite/sqlite-writer.ts', root).href;
    expect(resolveWorkerScript(caller, 'storage/sqlite/writer-thread.js').href).toBe(
      new URL('build/storage/sqlite/writer-thread.js', root).href,
    );
  });

  it('compiled, finds the script in the compiled tree wherever it was copied', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-worker-script-'));
    await mkdir(join(dir, 'storage', 'sqlite'), { recursive: true });
    await writeFile(join(dir, 'storage', 'sqlite', 'writer-thread.js'), '');
    const caller = pathToFileURL(join(dir, 'storage', 'sqlite', 'sqlite-writer.js')).href;
    expect(resolveWorkerScript(caller, 'storage/sqlite/writer-thread.js').href).toBe(
      pathToFileURL(join(dir, 'storage', 'sqlite', 'writer-thread.js')).href,
    );
  });
});
