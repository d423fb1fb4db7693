// Start-up: rebuild the rollups of the minutes that were open in memory when
// the last run stopped (storage/port.ts StorageWriter.recoverRollups). It must
// run before any ingest starts, so that no reading is counted both by the
// rebuild and by this run's minute windows.
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';
import { DEFAULT_EMIT_DELAY_MS } from '../pipelines/analytics/analytics.js';
import { closedMinutesBefore } from '../pipelines/analytics/minute-windows.js';
import type { RollupRecovery, StorageWriter } from '../storage/port.js';

export interface RecoverRollupsDeps {
  writer: Pick<StorageWriter, 'recoverRollups'>;
  logger: Logger;
  latenessMs: number;
  /** config maxFutureMs: bounds how far back a rebuild may reach (storage/rollup-rebuild.ts) */
  maxFutureMs: number;
  /** raw retention in ms, null when raw readings are kept for ever */
  rawRetentionMs: number | null;
  now?: () => number;
}

/** Rejects with GW_ERR_STORAGE_RECOVERY (the storage's own error as the cause). */
export async function recoverRollups(deps: RecoverRollupsDeps): Promise<RollupRecovery> {
  const now = deps.now ?? Date.now;
  let recovery: RollupRecovery;
  try {
    const at = now();
    recovery = await deps.writer.recoverRollups({
      latenessMs: deps.latenessMs,
      maxFutureMs: deps.maxFutureMs,
      rawKeptSince: deps.rawRetentionMs === null ? null : at - deps.rawRetentionMs,
      // The analytics started next compute the same boundary (minute-windows.ts).
      closedBefore: closedMinutesBefore(at, DEFAULT_EMIT_DELAY_MS),
    });
  } catch (err) {
    const reason =
      err instanceof GatewayError
        ? `${err.code}: ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
    throw new GatewayError('GW_ERR_STORAGE_RECOVERY', [reason], { cause: err });
  }
  if (recovery.from !== null && recovery.minuteRows + recovery.minuteRowsDeleted > 0) {
    deps.logger.info(
      {
        from: new Date(recovery.from).toISOString(),
        readings: recovery.readings,
        minuteRows: recovery.minuteRows,
        minuteRowsDeleted: recovery.minuteRowsDeleted,
        hourRows: recovery.hourRows,
        ms: Math.round(recovery.ms),
      },
      'analytics: rebuilt the rollups of the minutes open at the last stop from raw readings',
    );
  }
  return recovery;
}
