// What the publish hook worked out for one connection, kept where the next
// message from it finds it without a lookup. At saturation every message
// touches state its connection left cold thousands of messages ago: a hashed
// lookup per table (the route by client, the resend ring by ClientId, the
// budgets by device id and by connection) was a cache miss each, about 3 %
// of the main thread together. One memo per connection (ConnectionMemos):
// the publish lane takes it once, when it attaches, and hands it with each
// message; a message on aedes' own path finds the same one by its client.

import type { ErrorCode } from '../core/errors.js';
import type { TopicRoute } from '../pipelines/decode-telemetry.js';
import type { BudgetHold, OwnBucket } from './limits/rate-budget.js';
import type { ResendHold } from './resend-memory.js';

/**
 * The holds are the memo's own fields, not objects of their own: each would
 * be one more object per message to fetch from memory gone cold, and the
 * connection budget needs no bucket by key at all (gateway/limits/).
 */
export interface ConnectionMemo extends ResendHold, BudgetHold<string>, OwnBucket {
  /** the connection's last topic and its route: a sensor publishes on one topic */
  topic: string | undefined;
  route: TopicRoute | ErrorCode | undefined;
}

export function createConnectionMemo(): ConnectionMemo {
  return {
    topic: undefined,
    route: undefined,
    // its ClientId's resend ring
    heldClientId: undefined,
    heldRing: undefined,
    // its device budget, by the last device id it published for
    budgetKey: undefined,
    budgetBucket: undefined,
    // its connection budget: untouched, so full
    ownTokens: Number.NaN,
    ownAt: 0,
  };
}

/** Each connection's memo, by its aedes client: one registry for the publish lane and the publish hook. */
export interface ConnectionMemos {
  of(client: object): ConnectionMemo;
}

export function createConnectionMemos(): ConnectionMemos {
  const memos = new WeakMap<object, ConnectionMemo>();
  return {
    of(client) {
      let memo = memos.get(client);
      if (memo === undefined) {
        memo = createConnectionMemo();
        memos.set(client, memo);
      }
      return memo;
    },
  };
}
