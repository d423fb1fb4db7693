// Rate limits as backpressure (EMQX: "pause receiving client messages").
// A telemetry publish over its device's or its connection's budget is held,
// not refused: the publish authorizer hands it to the pipeline only when the
// budget allows, so its PUBACK waits. What slows the sender is that wait: a
// QoS 1/2 client sends only so many messages ahead of their acks (its
// in-flight window). The socket itself is not stopped: aedes reads its next
// chunk once every packet of the current one has been called back, or when
// new bytes arrive ('readable' lowers the same count, lib/client.js
// nextBatch), so a held chunk delays reading rather than ending it. The
// sender is slowed to its budget; nothing it sent is lost, nothing is acked
// before it is stored.
//
// Two budgets, both must allow: per device id (from the topic; the ACL makes
// it the authenticated id) and per connection (so one client cannot spread a
// flood over many ids). A bridge carrying many devices gets a device budget
// per id it carries and one connection budget, set by its own options.

import { type BudgetHold, createRateBudget, type OwnBucket, type RateBudgetOptions } from './rate-budget.js';

export type BudgetScope = 'device' | 'connection';

export interface PublishThrottle {
  /**
   * Calls `go` once the message fits both budgets: before returning (and
   * returns false) when it fits now, else later (returns true: held). Held
   * messages of one device on one connection are released in arrival order.
   */
  admit(deviceId: string, connection: object | null, go: Go, holds?: ThrottleHolds): boolean;
  /** messages held right now */
  readonly held: number;
}

export interface ThrottleTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface PublishThrottleOptions {
  device: RateBudgetOptions;
  connection: RateBudgetOptions;
  /** a message was held, by the budget that made it wait longest */
  onHeld?: (scope: BudgetScope) => void;
  /** a monotonic clock in ms */
  now?: () => number;
  timers?: ThrottleTimers;
}

/**
 * A connection's hold on its device's bucket, and its own connection bucket,
 * both fields of its memo (gateway/connection-memo.ts): its messages find
 * them without a lookup, and the connection budget in no Map at all.
 */
export type ThrottleHolds = BudgetHold<string> & OwnBucket;

/** What runs when the message may go: a function, or an object with a go() (no closure per message). */
export type Go = (() => void) | { go(): void };

interface Held {
  due: number;
  seq: number;
  go: Go;
}

function run(go: Go): void {
  if (typeof go === 'function') go();
  else go.go();
}

const realTimers: ThrottleTimers = {
  // Unref'd: a held message must not keep a stopping process alive; it was never acked.
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function createPublishThrottle(options: PublishThrottleOptions): PublishThrottle {
  const now = options.now ?? (() => performance.now());
  const timers = options.timers ?? realTimers;
  const onHeld = options.onHeld ?? (() => {});
  const devices = createRateBudget<string>(options.device);
  const connections = createRateBudget<object>(options.connection);
  // Ordered by (due, seq): one device's reservations on one connection get
  // non-decreasing due times, so they leave in arrival order, while another
  // device's messages on the same connection (a bridge) need not queue behind them.
  const heap: Held[] = [];
  let seq = 0;
  let timer: unknown;
  let timerDue = Number.POSITIVE_INFINITY;

  const arm = () => {
    const first = heap[0];
    if (first === undefined || first.due >= timerDue) return;
    if (timer !== undefined) timers.clear(timer);
    timerDue = first.due;
    timer = timers.set(fire, Math.max(0, Math.ceil(first.due - now())));
  };

  function fire() {
    timer = undefined;
    timerDue = Number.POSITIVE_INFINITY;
    const t = now();
    // Timers fire on whole milliseconds; what is due within the next one goes now.
    while (heap.length > 0 && heap[0]!.due <= t + 1) run(pop(heap).go);
    arm();
  }

  return {
    admit(deviceId, connection, go, holds) {
      const t = now();
      const deviceWait = devices.reserve(deviceId, t, holds);
      // The holds are the connection's own: its budget is kept there.
      const connectionWait =
        connection === null
          ? 0
          : holds !== undefined
            ? connections.reserveOwn(holds, t)
            : connections.reserve(connection, t);
      const wait = Math.max(deviceWait, connectionWait);
      if (wait <= 0) {
        run(go);
        return false;
      }
      onHeld(deviceWait >= connectionWait ? 'device' : 'connection');
      push(heap, { due: t + wait, seq: seq++, go });
      arm();
      return true;
    },
    get held() {
      return heap.length;
    },
  };
}

// A binary min-heap on (due, seq): held messages can number a socket chunk's
// worth per connection, so release must not be a scan.
function before(a: Held, b: Held): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function push(heap: Held[], item: Held): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Held[]): Held {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
