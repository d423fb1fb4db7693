import Database from 'better-sqlite3';
import type { SqliteSettings, Synchronous, WriterThreadOptions } from './protocol.js';
import { migrate } from './schema.js';

/**
 * Opens THE write connection. Reading the schema (in migrate) is what turns
 * a garbage file into SQLITE_NOTADB here rather than on the first batch; a full
 * quick_check would read every page and make start-up O(database size).
 */
export function openWriteConnection(opts: WriterThreadOptions): {
  db: Database.Database;
  settings: SqliteSettings;
} {
  const db = new Database(opts.path);
  try {
    db.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs)}`);
    const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
    // better-sqlite3's build defaults WAL to NORMAL; say it out loud so FULL is a real choice.
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma(`cache_size = ${Math.trunc(opts.cacheSize)}`);
    const { to } = migrate(db);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    if (opts.maxDbBytes !== undefined) {
      // SQLite will not go below the current size; a full database then fails its next growth.
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(opts.maxDbBytes / pageSize))}`);
    }
    const settings: SqliteSettings = {
      journalMode,
      synchronous: synchronousName(db.pragma('synchronous', { simple: true })),
      pageSize,
      maxPageCount: db.pragma('max_page_count', { simple: true }) as number,
      schemaVersion: to,
    };
    return { db, settings };
  } catch (err) {
    db.close();
    throw err;
  }
}

function synchronousName(level: unknown): Synchronous {
  if (level === 1) return 'NORMAL';
  if (level === 2) return 'FULL';
  throw new RangeError(`unexpected synchronous level ${String(level)}`);
}
