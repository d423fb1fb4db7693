// A token bucket per key: `rate` messages per second, up to `burst` at once.
// reserve() never refuses: it takes the token now and says how long to wait
// until the bucket would have held it (golang's rate.Limiter.Reserve). The
// caller holds the message that long, so the budget slows a sender down and
// never turns a message away. Time is passed in, so tests need no clock.

export interface RateBudget<K> {
  /**
   * Takes one token for `key`; resolves to the ms to wait before using it (0:
   * now). With a hold, the key's bucket is kept in it for the next call with
   * the same key, which then finds it without a lookup.
   */
  reserve(key: K, nowMs: number, hold?: BudgetHold<K>): number;
  /**
   * Takes one token from a bucket its owner keeps (a connection's own
   * budget, in its memo): never in the Map and never swept, it goes when its
   * owner does. Resolves like reserve.
   */
  reserveOwn(own: OwnBucket, nowMs: number): number;
  /** keys with a bucket in memory */
  readonly tracked: number;
}

export interface RateBudgetOptions {
  /** messages per second; 0 turns the budget off */
  ratePerSecond: number;
  burst: number;
}

export interface Bucket {
  /** below 0: tokens already promised to held messages */
  tokens: number;
  at: number;
  /** dropped by the sweep: a hold must look its key up again, or two buckets would share one key */
  swept: boolean;
}

/**
 * A bucket kept by its owner, not by key. Fields of the owner's own object:
 * a bucket of its own would be one more object to fetch per message, cold
 * since the connection's last one. NaN tokens: untouched, so full.
 */
export interface OwnBucket {
  ownTokens: number;
  ownAt: number;
}

/**
 * One caller's last key and its bucket (a connection's device id, say).
 * Opaque to the caller: fields of the caller's own object (a connection's
 * memo, gateway/connection-memo.ts).
 */
export interface BudgetHold<K> {
  budgetKey: K | undefined;
  budgetBucket: Bucket | undefined;
}

export function createRateBudget<K>(options: RateBudgetOptions): RateBudget<K> {
  const { ratePerSecond, burst } = options;
  const buckets = new Map<K, Bucket>();
  // A bucket that has refilled is the same as no bucket: dropping it changes
  // nothing. Swept once per time a bucket takes to refill, so memory is
  // bounded by the keys active (or still in debt) in the last two such spans.
  const fullAfterMs = ratePerSecond > 0 ? Math.ceil((burst / ratePerSecond) * 1000) : 0;
  let lastSweep = Number.NEGATIVE_INFINITY;
  // One formula for the keyed buckets and the owner-kept ones alike.
  /** tokens since `at`, uncapped */
  const refilled = (tokens: number, at: number, nowMs: number) =>
    tokens + ((nowMs - at) * ratePerSecond) / 1000;
  /** ms until a bucket left at `tokens` (after its token was taken) would have held it */
  const waitMs = (tokens: number) => (tokens >= 0 ? 0 : (-tokens * 1000) / ratePerSecond);

  const sweep = (nowMs: number) => {
    lastSweep = nowMs;
    for (const [key, b] of buckets) {
      if (refilled(b.tokens, b.at, nowMs) >= burst) {
        b.swept = true;
        buckets.delete(key);
      }
    }
  };

  return {
    reserve(key, nowMs, hold) {
      if (ratePerSecond <= 0) return 0;
      if (nowMs - lastSweep >= fullAfterMs) sweep(nowMs);
      let b =
        hold !== undefined && hold.budgetKey === key && hold.budgetBucket?.swept === false
          ? hold.budgetBucket
          : buckets.get(key);
      if (b === undefined) {
        b = { tokens: burst, at: nowMs, swept: false };
        buckets.set(key, b);
      } else if (nowMs > b.at) {
        b.tokens = Math.min(burst, refilled(b.tokens, b.at, nowMs));
        b.at = nowMs;
      }
      if (hold !== undefined) {
        hold.budgetKey = key;
        hold.budgetBucket = b;
      }
      b.tokens -= 1;
      return waitMs(b.tokens);
    },
    reserveOwn(own, nowMs) {
      if (ratePerSecond <= 0) return 0;
      if (Number.isNaN(own.ownTokens)) {
        own.ownTokens = burst;
        own.ownAt = nowMs;
      } else if (nowMs > own.ownAt) {
        own.ownTokens = Math.min(burst, refilled(own.ownTokens, own.ownAt, nowMs));
        own.ownAt = nowMs;
      }
      own.ownTokens -= 1;
      return waitMs(own.ownTokens);
    },
    get tracked() {
      return buckets.size;
    },
  };
}
