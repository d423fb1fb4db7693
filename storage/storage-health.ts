// The health both writers report (port.ts StorageHealth), from the state
// each keeps: whether it is closed or failing, what is pending, the last error.
import type { ErrorCode } from '../core/errors.js';
import type { StorageHealth, StorageState } from './port.js';

/** A writer's last failure, kept until a later write succeeds. */
export interface LastStorageError {
  code: ErrorCode;
  message: string;
  at: number;
}

export function storageHealth(
  state: StorageState,
  pendingBatches: number,
  lastError: LastStorageError | undefined,
): StorageHealth {
  const health: StorageHealth = { state, pendingBatches };
  if (lastError !== undefined) {
    health.lastErrorCode = lastError.code;
    health.lastErrorMessage = lastError.message;
    health.lastErrorAt = lastError.at;
  }
  return health;
}
