// Start-up: rebuild the rollups of the minutes that were open in memory when
// the last run stopped (storage/port.ts StorageWriter.recoverRollups). It must
// run before any ingest starts, so that no reading is counted both by the
// rebuild and by this run's minute windows.
import type { Logger } from 'pino';
import { DEFAULT_EMIT_DELAY_MS } from '../pipelines/analytics/analytics.js';
import { closedMinutesBefore } from '../pipelines/analytics/minute-windows.js';
import type { RollupRecovery, StorageWriter } from '../storage/port.js';
import { GatewayError } from './errors.js';

export interface RecoverRollupsDeps {
  writer: Pick<StorageWriter, 'recoverRollups'>;
  logger: Logger;
  analytics: 'on' | 'off';
  latenessMs: number;
  now?: () => number;
}

/** Rejects with GW_ERR_STORAGE_RECOVERY (the storage's own error as the cause). */
export async function recoverRollups(deps: RecoverRollupsDeps): Promise<RollupRecovery> {
  const now = deps.now ?? Date.now;
  let recovery: RollupRecovery;
  try {
    recovery = await deps.writer.recoverRollups({
      latenessMs: deps.latenessMs,
      // The analytics started next compute the same boundary (minute-windows.ts).
      // With analytics off the watermark goes: a later run with analytics on
      // must not rebuild, from raw readings retention may have thinned by
      // then, all the minutes this run keeps no rollups for.
      closedBefore: deps.analytics === 'on' ? closedMinutesBefore(now(), DEFAULT_EMIT_DELAY_MS) : null,
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
