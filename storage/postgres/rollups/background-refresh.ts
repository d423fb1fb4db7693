// The writer's re-aggregation loop: one step (one small transaction) at a
// time, queued behind the batches that arrived meanwhile, so an ingest commit
// waits behind one step at most; with nothing stale it polls for minutes that
// have closed.
import { REFRESH_POLL_MS } from '../../rollup-refresh.js';

export interface BackgroundRefresh {
  stop(): void;
}

/** `step` resolves true while work is left; a failed step is reported and retried at the next poll. */
export function startBackgroundRefresh(
  step: () => Promise<boolean>,
  onError: (err: unknown) => void,
): BackgroundRefresh {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    // The writer's pool keeps the process alive while it is open; the poll alone must not.
    timer.unref();
  };
  const tick = async (): Promise<void> => {
    timer = undefined;
    let more = false;
    try {
      more = await step();
    } catch (err) {
      if (!stopped) onError(err);
    }
    schedule(more ? 0 : REFRESH_POLL_MS);
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
