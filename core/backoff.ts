// Reconnect delays: exponential and capped, with jitter so that a fleet
// dropped together does not come back together.
// - 'equal' jitter (half fixed, half random): no retry is ever near-instant;
//   what a simulated device does after a drop.
// - 'full' jitter, never below initialMs (AWS architecture blog, "Exponential
//   Backoff And Jitter"): spreads a fleet of gateways that lost one broker.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  jitter: 'equal' | 'full';
  /** in [0, 1); injectable for tests */
  random?: () => number;
}

export const DEVICE_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, jitter: 'equal' };
export const UPSTREAM_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, jitter: 'full' };

/** The delay before reconnect attempt `attempt` (0 for the first after a loss). */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  const r = (policy.random ?? Math.random)();
  if (policy.jitter === 'equal') return Math.round(ceiling / 2 + (ceiling / 2) * r);
  return Math.round(policy.initialMs + r * Math.max(0, ceiling - policy.initialMs));
}

/**
 * The forwarder's upstream (docs/edge.md): one session per edge gateway, so
 * no herd to spread, and the backlog must start draining within a second of
 * the upstream's return; hence a cap of 1 s.
 */
export const FORWARD_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 1_000, jitter: 'full' };
