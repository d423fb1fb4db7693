// Reconnect delays: exponential, capped, with "equal jitter" (half fixed, half
// random) so a storm of devices dropped together does not return together,
// yet none retries instantly.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/** attempt 0 is the first retry; random() is in [0, 1). */
export function backoffDelayMs(attempt: number, random: () => number, policy = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
