// A stable id of this gateway instance, kept in its own SQLite database
// (gateway_state), so that each instance's default ingest ClientId is its
// own: two gateways on one host, each with its database, never take over
// each other's broker sessions, and a restart finds its sessions again.
import { randomInt } from 'node:crypto';
import Database from 'better-sqlite3';

const KEY = 'ingest_instance_id';

/** Reads the id, creating it on first use; the writer has migrated the file by then. */
export function sqliteInstanceId(path: string, busyTimeoutMs = 5000): string {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // 48 random bits: collisions between instances are not a practical concern.
    db.prepare('INSERT OR IGNORE INTO gateway_state (key, value) VALUES (?, ?)').run(KEY, randomInt(2 ** 47));
    const row = db.prepare('SELECT value FROM gateway_state WHERE key = ?').get(KEY) as { value: number };
    return row.value.toString(36);
  } finally {
    db.close();
  }
}
