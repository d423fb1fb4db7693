// After it writes a PUBACK, aedes routes the PUBLISH: a Packet and a
// PublishState object, a four-step series, a promise from the persistence for
// offline subscribers, a topic-trie match and an event. Telemetry is stored by
// the pipeline before its ack, and most of the time nobody subscribes to
// devices/…, so that routing is work for no one: at saturation it was as much
// CPU per message as our own decode and validation together.
//
// This skips it, exactly when it could deliver to nobody: no live subscription
// and no persisted one (a session with clean=false, queued offline) has a
// filter that can match a telemetry topic, and the message is not retained.
// The counts are kept by wrapping the broker's own subscription calls on this
// instance: every live subscription goes through mq.on/removeListener, and
// every persisted one through the persistence's add/remove/clean calls. A
// count may over-estimate (then it routes, as before); it cannot miss one.

import type { Aedes } from 'aedes';
import { isTelemetryTopic } from '../pipelines/decode-telemetry.js';

type Notify = (...args: unknown[]) => void;

interface Emitter {
  on(topic: string, notify: Notify, done?: () => void): unknown;
  removeListener(topic: string, notify: Notify, done?: () => void): unknown;
}

interface SubscriptionPersistence {
  addSubscriptions(client: { id: string }, subs: Array<{ topic: string }>): Promise<unknown>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
}

/** Can this subscription filter match some devices/… topic? ($share/{group}/ stripped.) */
export function filterReachesTelemetry(filter: string): boolean {
  let f = filter;
  if (f.startsWith('$share/')) {
    const slash = f.indexOf('/', 7);
    if (slash < 0) return false;
    f = f.slice(slash + 1);
  }
  const first = f.split('/', 1)[0];
  return first === 'devices' || first === '+' || first === '#';
}

export interface TelemetryRouting {
  /** live and persisted subscriptions whose filter can match telemetry */
  readonly subscribers: number;
  /** telemetry publishes acked and not routed, since the start */
  readonly skipped: number;
}

export function skipUnroutedTelemetry(broker: Aedes): TelemetryRouting {
  const live = new Map<Notify, Set<string>>();
  let liveCount = 0;
  const persisted = new Map<string, Set<string>>();
  let persistedCount = 0;
  let skipped = 0;

  const mq = (broker as unknown as { mq: Emitter }).mq;
  const on = mq.on.bind(mq);
  const removeListener = mq.removeListener.bind(mq);
  mq.on = (topic, notify, done) => {
    if (filterReachesTelemetry(topic)) {
      let topics = live.get(notify);
      if (topics === undefined) {
        topics = new Set();
        live.set(notify, topics);
      }
      if (!topics.has(topic)) {
        topics.add(topic);
        liveCount++;
      }
    }
    return on(topic, notify, done);
  };
  mq.removeListener = (topic, notify, done) => {
    const topics = live.get(notify);
    if (topics?.delete(topic) === true) {
      liveCount--;
      if (topics.size === 0) live.delete(notify);
    }
    return removeListener(topic, notify, done);
  };

  const persistence = (broker as unknown as { persistence: SubscriptionPersistence }).persistence;
  const add = persistence.addSubscriptions.bind(persistence);
  const remove = persistence.removeSubscriptions.bind(persistence);
  const clean = persistence.cleanSubscriptions.bind(persistence);
  const forget = (clientId: string, topics: Iterable<string>) => {
    const mine = persisted.get(clientId);
    if (mine === undefined) return;
    for (const t of topics) if (mine.delete(t)) persistedCount--;
    if (mine.size === 0) persisted.delete(clientId);
  };
  // Counted before the call resolves: a subscription being stored is already one to route to.
  persistence.addSubscriptions = (client, subs) => {
    for (const { topic } of subs) {
      if (!filterReachesTelemetry(topic)) continue;
      let mine = persisted.get(client.id);
      if (mine === undefined) {
        mine = new Set();
        persisted.set(client.id, mine);
      }
      if (!mine.has(topic)) {
        mine.add(topic);
        persistedCount++;
      }
    }
    return add(client, subs);
  };
  // Uncounted once the store has done it, not before.
  persistence.removeSubscriptions = (client, topics) =>
    remove(client, topics).then((result) => {
      forget(client.id, topics);
      return result;
    });
  persistence.cleanSubscriptions = (client) =>
    clean(client).then((result) => {
      forget(client.id, [...(persisted.get(client.id) ?? [])]);
      return result;
    });

  const publish = broker.publish.bind(broker) as (packet: unknown, client: unknown, done?: unknown) => void;
  (broker as unknown as { publish: typeof publish }).publish = (packet, client, done) => {
    const p = packet as { topic: string; retain?: boolean };
    const callback = (typeof client === 'function' ? client : done) as
      | ((err?: Error | null) => void)
      | undefined;
    if (liveCount === 0 && persistedCount === 0 && p.retain !== true && isTelemetryTopic(p.topic)) {
      skipped++;
      callback?.(null);
      return;
    }
    publish(packet, client, done);
  };

  return {
    get subscribers() {
      return liveCount + persistedCount;
    },
    get skipped() {
      return skipped;
    },
  };
}
