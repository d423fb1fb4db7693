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
import { type BudgetHold, createBudgetHold } from './limits/rate-budget.js';
import { createResendHold, type ResendHold } from './resend-memory.js';

export interface ConnectionMemo {
  /** the connection's last topic and its route: a sensor publishes on one topic */
  topic: string | undefined;
  route: TopicRoute | ErrorCode | undefined;
  /** its ClientId's resend ring */
  readonly resend: ResendHold;
  /** its device budget (by the last device id it published for) and its connection budget */
  readonly deviceBudget: BudgetHold<string>;
  readonly connectionBudget: BudgetHold<object>;
}

export function createConnectionMemo(): ConnectionMemo {
  return {
    topic: undefined,
    route: undefined,
    resend: createResendHold(),
    deviceBudget: createBudgetHold<string>(),
    connectionBudget: createBudgetHold<object>(),
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
