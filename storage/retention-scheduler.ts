// Retention off the main thread and in small steps: each step is one bounded
// DELETE that the writer thread runs between group commits, and the next step
// is sent only after the previous one committed, so at most one step ever
// waits in front of the readings' batches.

import { emptyWriteBatch } from './empty-batch.js';
import type { RetentionTier, StorageWriter } from './port.js';
import type { RetentionPolicy } from './retention-policy.js';

export interface RetentionOptions {
  writer: Pick<StorageWriter, 'write'>;
  policy: RetentionPolicy;
  /** rows per DELETE: ~2 ms of writer time each */
  stepRows?: number;
  /** time between passes */
  intervalMs?: number;
  /** pause between steps within a pass, so ingest batches get the writer */
  pauseMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export interface Retention {
  /** One pass over every tier, step by step; resolves with the rows deleted per tier. */
  runOnce(): Promise<Record<RetentionTier, number>>;
  start(): void;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export const RETENTION_DEFAULTS = { stepRows: 1000, intervalMs: 60_000, pauseMs: 20 };

export function createRetention(options: RetentionOptions): Retention {
  const stepRows = options.stepRows ?? RETENTION_DEFAULTS.stepRows;
  const pauseMs = options.pauseMs ?? RETENTION_DEFAULTS.pauseMs;
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const runOnce = async (): Promise<Record<RetentionTier, number>> => {
    const deleted: Record<RetentionTier, number> = { raw: 0, '1m': 0, '1h': 0 };
    for (const tier of ['raw', '1m', '1h'] as const) {
      const keep = options.policy[tier];
      if (keep === null) continue;
      const before = now() - keep;
      for (;;) {
        if (stopped) return deleted;
        const result = await options.writer.write({
          ...emptyWriteBatch(),
          prune: { tier, before, maxRows: stepRows },
        });
        const pruned = result.pruned ?? 0;
        deleted[tier] += pruned;
        if (pruned < stepRows) break;
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
      }
    }
    return deleted;
  };

  return {
    runOnce,
    start() {
      if (timer !== undefined || Object.values(options.policy).every((keep) => keep === null)) return;
      const pass = () => {
        if (running !== undefined || stopped) return;
        running = runOnce()
          .catch((err: unknown) => options.onError?.(err))
          .finally(() => {
            running = undefined;
          });
      };
      timer = setInterval(pass, options.intervalMs ?? RETENTION_DEFAULTS.intervalMs);
      timer.unref();
      pass();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      await running;
    },
  };
}
