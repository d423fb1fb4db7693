// Several sessions to the upstream, used as one (docs/edge.md): a broker
// reads a connection a chunk at a time and acks what it committed before it
// reads the next (our central gateway does, by design), so one connection
// drains at one chunk per commit round trip. Sessions in parallel give the
// upstream several chunks per round trip to commit together.

import type { Upstream } from '../../pipelines/forward/forwarder.js';
import {
  openUpstreamSession,
  type UpstreamSession,
  type UpstreamSessionOptions,
} from './upstream-session.js';

export interface UpstreamPool extends Upstream {
  readonly connects: number;
  close(): Promise<void>;
}

/** ClientIds {clientId}-0 .. -{n-1} for n > 1, the plain clientId for one session. */
export function openUpstreamPool(opts: UpstreamSessionOptions, sessions: number): UpstreamPool {
  const pool: UpstreamSession[] = Array.from({ length: sessions }, (_, i) =>
    openUpstreamSession({ ...opts, clientId: sessions === 1 ? opts.clientId : `${opts.clientId}-${i}` }),
  );
  const inFlight = new Array<number>(sessions).fill(0);
  return {
    get connected() {
      return pool.some((s) => s.connected);
    },
    get connects() {
      return pool.reduce((sum, s) => sum + s.connects, 0);
    },
    publish(topic, payload) {
      // The connected session with the fewest messages awaiting their PUBACK.
      let best = -1;
      for (let i = 0; i < sessions; i++) {
        if (pool[i]!.connected && (best === -1 || inFlight[i]! < inFlight[best]!)) best = i;
      }
      if (best === -1) return Promise.reject(new Error('no upstream session is connected'));
      const index = best;
      inFlight[index]!++;
      return pool[index]!.publish(topic, payload).finally(() => {
        inFlight[index]!--;
      });
    },
    async close() {
      await Promise.all(pool.map((s) => s.close()));
    },
  };
}
