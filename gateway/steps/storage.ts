import { GatewayError } from '../../core/errors.js';
import { type RetentionPolicy, retentionPolicy } from '../../storage/retention-policy.js';
import type { GatewayConfig } from '../config.js';
import type { Started } from './lifecycle.js';

/** What the store keeps, checked before anything starts. */
export function storageStep(deps: {
  config: Pick<GatewayConfig, 'retentionRaw' | 'retention1m' | 'retention1h' | 'maxPastMs'>;
}): Started<{ policy: RetentionPolicy }> {
  const { config } = deps;
  const policy = retentionPolicy(config);
  // A reading accepted as late as --max-past-ms must outlive its own ack.
  if (policy.raw !== null && policy.raw <= config.maxPastMs) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `retentionRaw (${config.retentionRaw}) must be longer than maxPastMs (${config.maxPastMs} ms), or readings accepted that late would be deleted right after their ack`,
    ]);
  }
  return { provides: { policy } };
}
