// A stable id of this gateway instance, kept in its own SQLite database
// (stable-id.ts), so that each instance's default ingest ClientId is its own.
import Database from 'better-sqlite3';
import { ensureStableId } from './stable-id.js';

const KEY = 'ingest_instance_id';

/** Reads the id, creating it on first use; the writer has migrated the file by then. */
export function sqliteInstanceId(path: string, busyTimeoutMs = 5000): string {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    return ensureStableId(db, KEY).toString(36);
  } finally {
    db.close();
  }
}
