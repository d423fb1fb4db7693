// The stable ids of a SQLite database (storage/sqlite/stable-id.ts): the
// ingest instance id and the forward ClientId share one helper, keep the keys
// and numbers earlier versions stored, and are drawn once each.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../simulators/run-cli.js';
import { readForwardStatus } from '../../storage/sqlite/forward-log.js';
import { sqliteInstanceId } from '../../storage/sqlite/instance-id.js';
import { migrate } from '../../storage/sqlite/schema.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { ensureStableId, storedStableId } from '../../storage/sqlite/stable-id.js';

function migrated(): { path: string; db: Database.Database } {
  const path = join(tempDir(), 'gw.db');
  const db = new Database(path);
  migrate(db);
  return { path, db };
}

describe('stable ids in gateway_state', () => {
  it('draws an id once per key, never 0, and keeps it', () => {
    const { db } = migrated();
    expect(storedStableId(db, 'a_id')).toBeUndefined();
    const a = ensureStableId(db, 'a_id');
    const b = ensureStableId(db, 'b_id');
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThan(2 ** 48);
    expect(ensureStableId(db, 'a_id')).toBe(a);
    expect(storedStableId(db, 'a_id')).toBe(a);
    // 48 random bits each: equal ids would mean one draw served both keys.
    expect(b).not.toBe(a);
    db.close();
  });

  it('reads the ids an earlier version stored, under the same keys and spellings', async () => {
    const { path, db } = migrated();
    const put = db.prepare('INSERT INTO gateway_state (key, value) VALUES (?, ?)');
    put.run('ingest_instance_id', 123_456_789);
    put.run('forward_client_id', 0xabcdef012345);
    db.close();

    expect(sqliteInstanceId(path)).toBe((123_456_789).toString(36));
    const writer = await openSqliteWriter({ path, forward: { maxBacklogReadings: 0 } });
    try {
      expect((await writer.forward!.status()).clientId).toBe('sensor-gateway-edge-abcdef012345');
    } finally {
      await writer.close();
    }
    const reader = new Database(path, { readonly: true });
    expect(readForwardStatus(reader).clientId).toBe('sensor-gateway-edge-abcdef012345');
    reader.close();
  });

  it('a read-only status before the forward log drew its id says so with an empty ClientId', () => {
    const { path, db } = migrated();
    db.close();
    const reader = new Database(path, { readonly: true });
    expect(readForwardStatus(reader).clientId).toBe('');
    reader.close();
  });
});
