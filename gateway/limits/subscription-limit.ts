// Every subscription costs memory in the topic matcher and the session
// store, and aedes puts no bound on how many one client holds, so a client
// could grow them without end, one SUBSCRIBE after another.

import type { AedesOptions } from 'aedes';
import { type ErrorCode, GatewayError } from '../errors.js';

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
  // aedes authorizes every filter of one SUBSCRIBE before it records any of
  // them, so grants not yet recorded are counted here until the next turn of
  // the event loop.
  const granting = new WeakMap<Client, number>();
  return (client, sub, callback) => {
    const held = subscriptionCount(client);
    const pending = granting.get(client) ?? 0;
    if (held + pending >= maxPerClient && !isHeld(client, sub.topic)) {
      const err = new GatewayError('GW_ERR_TOO_MANY_SUBSCRIPTIONS', [client.id, maxPerClient]);
      onLimit(err.code, err);
      // [MQTT-3.9.3] a failure return code (0x80) for this filter; the connection stays.
      callback(null, null);
      return;
    }
    granting.set(client, pending + 1);
    setImmediate(() => {
      const left = (granting.get(client) ?? 1) - 1;
      if (left <= 0) granting.delete(client);
      else granting.set(client, left);
    });
    if (next === undefined) callback(null, sub);
    else next(client, sub, callback);
  };
}

// aedes keeps a client's subscriptions on `client.subscriptions`, a
// null-prototype object keyed by topic filter; its typings leave it out.
function subscriptions(client: Client): Record<string, unknown> | undefined {
  return (client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions;
}

function subscriptionCount(client: Client): number {
  const subs = subscriptions(client);
  return subs === undefined ? 0 : Object.keys(subs).length;
}

function isHeld(client: Client, topic: string): boolean {
  const subs = subscriptions(client);
  return subs !== undefined && Object.hasOwn(subs, topic);
}
