// Every subscription costs memory in the topic matcher and the session
// store, and aedes puts no bound on how many one client holds, so a client
// could grow them without end, one SUBSCRIBE after another.

import type { AedesOptions } from 'aedes';
import { type ErrorCode, GatewayError } from '../../core/errors.js';

type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;
type Client = Parameters<AuthorizeSubscribe>[0];

export interface SubscriptionLimitOptions {
  maxPerClient: number;
  onLimit: (code: ErrorCode, err: GatewayError) => void;
  /** the authorization to run for subscriptions within the limit (e.g. an ACL) */
  next?: AuthorizeSubscribe;
}

export function limitSubscriptions(options: SubscriptionLimitOptions): AuthorizeSubscribe {
  const { maxPerClient, onLimit, next } = options;
  // aedes authorizes the filters of a SUBSCRIBE in parallel and records each
  // one only after storing it, so filters granted but not yet recorded are
  // kept here until they show up in the client's subscriptions.
  const granted = new WeakMap<Client, Set<string>>();
  return (client, sub, callback) => {
    const held = subscriptions(client);
    let pending = granted.get(client);
    if (pending === undefined) {
      pending = new Set();
      granted.set(client, pending);
    }
    for (const topic of pending) if (Object.hasOwn(held, topic)) pending.delete(topic);
    const count = Object.keys(held).length + pending.size;
    if (count >= maxPerClient && !Object.hasOwn(held, sub.topic) && !pending.has(sub.topic)) {
      const err = new GatewayError('GW_ERR_TOO_MANY_SUBSCRIPTIONS', [client.id, maxPerClient]);
      onLimit(err.code, err);
      // [MQTT-3.9.3] a failure return code (0x80) for this filter; the connection stays.
      callback(null, null);
      return;
    }
    const mine = pending;
    mine.add(sub.topic);
    const done: Parameters<AuthorizeSubscribe>[2] = (err, result) => {
      if (err !== null || result == null) mine.delete(sub.topic);
      callback(err, result);
    };
    if (next === undefined) done(null, sub);
    else next(client, sub, done);
  };
}

// aedes keeps a client's subscriptions on `client.subscriptions`, a
// null-prototype object keyed by topic filter; its typings leave it out.
function subscriptions(client: Client): Record<string, unknown> {
  return (client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {};
}
