import type { ErrorCode } from '../../core/errors.js';

/** Node socket errors: the server cannot be reached or went away. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

/**
 * Maps a pg error to the gateway's code. PostgreSQL's SQLSTATE is five
 * characters whose first two name the class (Appendix A of its manual), so a
 * class match keeps codes added later mapped without a table update.
 * Errors pg raises itself (a connection ended mid-query) carry no SQLSTATE.
 */
export function gatewayCodeForPostgres(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = err instanceof Error ? err.message : '';
    return /connection|terminated|timeout/i.test(message)
      ? 'GW_ERR_STORAGE_UNAVAILABLE'
      : 'GW_ERR_STORAGE_WRITE';
  }
  if (UNREACHABLE.has(code)) return 'GW_ERR_STORAGE_UNAVAILABLE';
  switch (code) {
    case '53100': // disk_full
      return 'GW_ERR_STORAGE_FULL';
    case '58030': // io_error
      return 'GW_ERR_STORAGE_IO';
    case '25006': // read_only_sql_transaction (a hot standby, default_transaction_read_only)
      return 'GW_ERR_STORAGE_READONLY';
    case '40001': // serialization_failure
    case '40P01': // deadlock_detected
    case '55P03': // lock_not_available
    case '57014': // query_canceled (statement_timeout)
    case '53300': // too_many_connections
      return 'GW_ERR_STORAGE_BUSY';
    case 'XX001': // data_corrupted
    case 'XX002': // index_corrupted
      return 'GW_ERR_STORAGE_CORRUPT';
  }
  switch (code.slice(0, 2)) {
    case '08': // connection_exception
    case '57': // operator_intervention: admin_shutdown, crash_shutdown, cannot_connect_now
      return 'GW_ERR_STORAGE_UNAVAILABLE';
    case '28': // invalid_authorization_specification
    case '3D': // invalid_catalog_name: the database does not exist
    case '3F': // invalid_schema_name
      return 'GW_ERR_STORAGE_OPEN';
    case '53': // insufficient_resources (out of memory, ...)
      return 'GW_ERR_STORAGE_BUSY';
    case '58': // system_error
      return 'GW_ERR_STORAGE_IO';
    default:
      return 'GW_ERR_STORAGE_WRITE';
  }
}
