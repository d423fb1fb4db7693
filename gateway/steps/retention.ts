import type { Logger } from 'pino';
import type { StorageWriter } from '../../storage/port.js';
import type { RetentionPolicy } from '../../storage/retention-policy.js';
import { createRetention } from '../../storage/retention-scheduler.js';
import type { Started } from './lifecycle.js';

/** Deletes what the policy no longer keeps, in small steps, once the gateway serves. */
export function retentionStep(deps: {
  writer: Pick<StorageWriter, 'write'>;
  policy: RetentionPolicy;
  logger: Logger;
}): Started<Record<string, never>> {
  const retention = createRetention({
    writer: deps.writer,
    policy: deps.policy,
    onError: (err) => deps.logger.warn({ err }, 'retention step failed'),
  });
  return {
    provides: {},
    open: () => retention.start(),
    stop: { drain: () => retention.stop() },
  };
}
