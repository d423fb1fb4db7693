// Reconnect delays: exponential with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"), so a fleet of gateways that lost the
// same broker does not reconnect in lockstep.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** 0..1; injectable for tests */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = { initialMs: 250, maxMs: 30_000 } as const;

/** The delay before reconnect attempt `attempt` (0 for the first after a loss). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  const random = opts.random ?? Math.random;
  // Never below initialMs: a broker that refuses at once must not be hammered.
  return Math.round(opts.initialMs + random() * Math.max(0, ceiling - opts.initialMs));
}
