import type { ErrorCode } from '../../core/errors.js';

/**
 * Maps a better-sqlite3 error code (`err.code`, e.g. 'SQLITE_IOERR_WRITE') to
 * the gateway's code. Extended codes share their primary code's prefix, so a
 * prefix match keeps new SQLite extended codes mapped without a table update.
 */
export function gatewayCodeForSqlite(sqliteCode: unknown): ErrorCode {
  if (typeof sqliteCode !== 'string') return 'GW_ERR_STORAGE_WRITE';
  const primary = sqliteCode.split('_', 2).join('_');
  switch (primary) {
    case 'SQLITE_FULL':
      return 'GW_ERR_STORAGE_FULL';
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'GW_ERR_STORAGE_BUSY';
    case 'SQLITE_IOERR':
      return 'GW_ERR_STORAGE_IO';
    case 'SQLITE_READONLY':
      return 'GW_ERR_STORAGE_READONLY';
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return 'GW_ERR_STORAGE_CORRUPT';
    case 'SQLITE_CANTOPEN':
      return 'GW_ERR_STORAGE_OPEN';
    default:
      return 'GW_ERR_STORAGE_WRITE';
  }
}
