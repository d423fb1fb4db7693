// An in-memory stand-in for the broker side of DeviceLink: connects on the
// next microtask, acks after a (virtual) millisecond, and like mqtt.js holds
// unacked QoS ≥ 1 messages across a drop and resends them on reconnect.

import type { DeviceLink, LinkEvents, LinkSpec } from '../../simulators/device-link.js';

export interface FakeMessage {
  deviceId: string;
  body: unknown;
  qos: number;
}

export interface FakeNetwork {
  factory: (spec: LinkSpec, events: LinkEvents) => DeviceLink;
  messages: FakeMessage[];
  opens: Map<string, number>;
  maxConnectedAt(): number;
}

export function createFakeNetwork(behaviour: { refuse?: boolean; ack?: boolean } = {}): FakeNetwork {
  const messages: FakeMessage[] = [];
  const opens = new Map<string, number>();
  let connected = 0;
  let maxConnected = 0;
  const factory = (spec: LinkSpec, events: LinkEvents): DeviceLink => {
    let up = false;
    let closed = false;
    let held: Array<() => void> = [];
    return {
      open() {
        opens.set(spec.deviceId, (opens.get(spec.deviceId) ?? 0) + 1);
        queueMicrotask(() => {
          if (closed) return;
          if (behaviour.refuse) {
            events.error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
            events.down();
            return;
          }
          up = true;
          maxConnected = Math.max(maxConnected, ++connected);
          events.up();
          const resend = held;
          held = [];
          for (const ack of resend) ack();
        });
      },
      drop() {
        if (!up) return;
        up = false;
        connected--;
        events.down();
      },
      publish(payload, qos, done) {
        messages.push({ deviceId: spec.deviceId, body: JSON.parse(payload), qos });
        if (behaviour.ack === false) return;
        setTimeout(() => {
          if (up) done();
          else held.push(() => done());
        }, 1);
      },
      async close() {
        if (up) connected--;
        up = false;
        closed = true;
      },
    };
  };
  return { factory, messages, opens, maxConnectedAt: () => maxConnected };
}
