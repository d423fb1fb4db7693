import type { Logger } from 'pino';
import { GatewayError } from '../../core/errors.js';
import type { StorageWriter } from '../../storage/port.js';
import { type RetentionPolicy, retentionPolicy } from '../../storage/retention-policy.js';
import type { GatewayConfig } from '../config.js';
import { recoverRollups } from '../recover-rollups.js';
import type { Started } from './lifecycle.js';

export interface RecoveryDeps {
  config: Pick<
    GatewayConfig,
    | 'retentionRaw'
    | 'retention1m'
    | 'retention1h'
    | 'maxPastMs'
    | 'maxFutureMs'
    | 'analytics'
    | 'analyticsLatenessMs'
    | 'ingest'
  >;
  logger: Logger;
  writer: Pick<StorageWriter, 'recoverRollups'>;
}

/** The store as this run takes it over: a retention policy it can keep, and the rollups the last run left open. */
export async function recoveryStep(deps: RecoveryDeps): Promise<Started<{ policy: RetentionPolicy }>> {
  const { config } = deps;
  const policy = retentionPolicy(config);
  // A reading accepted as late as --max-past-ms must outlive its own ack.
  if (policy.raw !== null && policy.raw <= config.maxPastMs) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `retentionRaw (${config.retentionRaw}) must be longer than maxPastMs (${config.maxPastMs} ms), or readings accepted that late would be deleted right after their ack`,
    ]);
  }
  // Before the analytics and any listener or subscription start: no reading
  // may be counted both by the rebuild and by this run's minute windows.
  // Only with analytics on, and only for a gateway that is the store's one
  // writer: in consumer mode (--ingest) other gateways may hold open minutes
  // of the same period, which a rebuild from raw would count twice
  // (docs/scale-out.md). With analytics off nothing is touched.
  if (config.analytics === 'on' && config.ingest === '')
    await recoverRollups({
      writer: deps.writer,
      logger: deps.logger,
      latenessMs: config.analyticsLatenessMs,
      maxFutureMs: config.maxFutureMs,
      rawRetentionMs: policy.raw,
    });
  return { provides: { policy } };
}
