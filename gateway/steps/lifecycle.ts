// Start-up is a list of steps run in order; shutdown is the same list in
// reverse, once per phase. One reverse pass is not enough: the broker starts
// after the pipeline it feeds, yet must stay up through the pipeline's drain
// to send the acks of what it admitted; the analytics start before the
// broker, yet must flush their last minutes (and alerts) before it closes.

/**
 * Shutdown, phase after phase; within each, the started steps in reverse:
 * - refuse: take nothing new (new connections, publishes, deliveries)
 * - drain: settle everything admitted, and what must wait for that
 * - disconnect: end the MQTT sessions
 * - close: release servers, threads and timers
 */
export const STOP_PHASES = ['refuse', 'drain', 'disconnect', 'close'] as const;
export type StopPhase = (typeof STOP_PHASES)[number];

/**
 * A hook that returns nothing runs without yielding: the refusals all happen
 * in one turn of the event loop, so no packet slips in between two of them.
 */
export type StopHooks = Partial<Record<StopPhase, () => void | Promise<void>>>;

export interface Started<T> {
  /** what later steps need */
  provides: T;
  /** once every step has started, in start order: work that waits until the gateway serves */
  open?: () => void;
  stop?: StopHooks;
}

export interface Lifecycle {
  /** Awaits one step and keeps its hooks; returns what it provides. */
  start<T>(step: Started<T> | Promise<Started<T>>): Promise<T>;
  /** After the last step: runs the open hooks in start order; from now on ready() is true. */
  open(): void;
  /** Runs the stop phases over the steps started so far; once, however often called. */
  stop(): Promise<void>;
  /** open and not stopping: what /readyz reports */
  ready(): boolean;
  /** stop has begun: new publishes are refused */
  stopping(): boolean;
}

export function createLifecycle(): Lifecycle {
  const started: Array<Omit<Started<unknown>, 'provides'>> = [];
  let state: 'starting' | 'open' | 'stopping' = 'starting';
  let stopped: Promise<void> | undefined;

  const runPhases = async () => {
    state = 'stopping';
    const reversed = started.toReversed();
    for (const phase of STOP_PHASES) {
      for (const step of reversed) {
        const done = step.stop?.[phase]?.();
        if (done !== undefined) await done;
      }
    }
  };

  return {
    async start(step) {
      const { provides, ...hooks } = await step;
      started.push(hooks);
      return provides;
    },
    open() {
      state = 'open';
      for (const step of started) step.open?.();
    },
    stop() {
      stopped ??= runPhases();
      return stopped;
    },
    ready: () => state === 'open',
    stopping: () => state === 'stopping',
  };
}
