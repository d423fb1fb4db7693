// A token bucket per device: `rate` messages per second, up to `burst` at
// once. A replay of readings buffered offline is one message, so a burst of
// a few hundred is plenty for honest devices. Time is passed in, so tests
// need no clock.

export interface DeviceRateLimiter {
  /** Takes one token for `deviceId`; false when its bucket is empty. */
  take(deviceId: string, nowMs: number): boolean;
  /** devices with a bucket in memory */
  readonly tracked: number;
}

export interface DeviceRateLimiterOptions {
  /** messages per second; 0 turns the limiter off */
  ratePerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createDeviceRateLimiter(options: DeviceRateLimiterOptions): DeviceRateLimiter {
  const { ratePerSecond, burst } = options;
  const buckets = new Map<string, Bucket>();
  // A bucket untouched this long has refilled: dropping it changes nothing,
  // so memory is bounded by the devices active in the last two such spans.
  const fullAfterMs = ratePerSecond > 0 ? Math.ceil((burst / ratePerSecond) * 1000) : 0;
  let lastSweep = Number.NEGATIVE_INFINITY;

  const sweep = (nowMs: number) => {
    lastSweep = nowMs;
    for (const [id, b] of buckets) if (nowMs - b.at >= fullAfterMs) buckets.delete(id);
  };

  return {
    take(deviceId, nowMs) {
      if (ratePerSecond <= 0) return true;
      if (nowMs - lastSweep >= fullAfterMs) sweep(nowMs);
      const b = buckets.get(deviceId);
      if (b === undefined) {
        buckets.set(deviceId, { tokens: burst - 1, at: nowMs });
        return true;
      }
      b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) * ratePerSecond) / 1000);
      b.at = nowMs;
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    get tracked() {
      return buckets.size;
    },
  };
}
