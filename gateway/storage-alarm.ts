import type { Logger } from 'pino';
import type { SettledBatch } from '../pipelines/commit-batches.js';

/**
 * A failing disk fails every batch; logging each one would bury the cause.
 * Log once when a cause starts, once when it changes, once on recovery.
 */
export function createStorageAlarm(logger: Logger) {
  let current: string | undefined;
  let failures = 0;
  return {
    settled(batch: SettledBatch) {
      if (batch.error === undefined) {
        if (current !== undefined) {
          logger.info({ code: current, failedBatches: failures }, 'storage recovered');
          current = undefined;
          failures = 0;
        }
        return;
      }
      failures++;
      const code = String((batch.error as { code?: unknown }).code ?? 'GW_ERR_STORAGE_WRITE');
      if (code === current) return;
      current = code;
      logger.error(
        { code, err: batch.error.message, cause: (batch.error.cause as Error | undefined)?.message },
        'storage failing: messages are not acknowledged and their connections are closed so clients resend',
      );
    },
  };
}
