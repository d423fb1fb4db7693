// Recognises a resent QoS 1/2 PUBLISH, so that it is acknowledged, not
// stored a second time.
//
// A client that lost a PUBACK (or PUBREC) resends the message with DUP set
// and the same packet id [MQTT-3.3.1-1], [MQTT-4.4.0-1], often on a new
// connection. The (device, metric, ts) key already makes a resend harmless
// when the payload carries its ts; a reading without ts takes the receive
// time, which differs on every delivery, and a dead letter has no key at all.
// So the first delivery of each (ClientId, packet id) is remembered, with a
// fingerprint of topic and payload, and a DUP delivery that matches it is
// settled by the original's outcome instead of entering the pipeline again.

export type ResendState = 'pending' | 'committed' | 'failed';

export interface ResendMemoryOptions {
  /** packet ids kept per ClientId: about a client's in-flight window */
  perClient: number;
  /** ClientIds kept, least recently used first out */
  maxClients: number;
}

export type ResendDecision =
  /** a first delivery: ingest it, then report its outcome */
  | { kind: 'new'; receivedAt: number; settled(err?: Error): void }
  /** the original is committed: acknowledge at once */
  | { kind: 'committed' }
  /** the original is still in the pipeline: its outcome settles this one too */
  | { kind: 'pending'; wait: (settle: (err?: Error) => void) => void }
  /** the original failed to commit: ingest again, with the original receive time */
  | { kind: 'retry'; receivedAt: number; settled(err?: Error): void };

export interface ResendMemory {
  admit(
    clientId: string,
    messageId: number,
    dup: boolean,
    topic: string,
    payload: Uint8Array,
    now: number,
  ): ResendDecision;
  readonly clients: number;
}

const STATE_CODE: Record<ResendState, number> = { pending: 0, committed: 1, failed: 2 };
const STATES: readonly ResendState[] = ['pending', 'committed', 'failed'];

/**
 * One client's last `perClient` packet ids, as a ring of typed arrays. Every
 * QoS 1/2 PUBLISH is remembered for as long as its client sends `perClient`
 * more: far beyond a young-generation GC, so one object per message would die
 * in the old generation. At 5000 clients that garbage made the main thread's
 * heap swing by hundreds of MB between major GCs, and each major GC stall the
 * event loop (issue: never blocks). A ring allocates once per client.
 */
interface ClientRing {
  ids: Int32Array;
  /** bumped each time a slot is reused, so a late settle of an evicted message changes nothing */
  generation: Uint32Array;
  hash: Uint32Array;
  length: Uint32Array;
  receivedAt: Float64Array;
  state: Uint8Array;
  next: number;
  /** when it last moved to the recent end of the LRU order */
  movedAt: number;
  /** resends waiting for the original's outcome, by slot; rare, so made on demand */
  waiters: Map<number, Array<(err?: Error) => void>> | null;
}

export function createResendMemory(options: ResendMemoryOptions): ResendMemory {
  const byClient = new Map<string, ClientRing>();

  const ringOf = (clientId: string, now: number): ClientRing => {
    let ring = byClient.get(clientId);
    // LRU to the second: moving a ring to the recent end is a Map delete and
    // insert, and doing it on every message was a measurable share of the
    // main thread at saturation. An active client still moves once a second.
    if (ring !== undefined && now - ring.movedAt < RECENCY_RESOLUTION_MS && now >= ring.movedAt) return ring;
    if (ring === undefined) {
      if (byClient.size >= options.maxClients) {
        const oldest = byClient.keys().next().value;
        if (oldest !== undefined) byClient.delete(oldest);
      }
      const n = options.perClient;
      ring = {
        ids: new Int32Array(n).fill(-1),
        generation: new Uint32Array(n),
        hash: new Uint32Array(n),
        length: new Uint32Array(n),
        receivedAt: new Float64Array(n),
        state: new Uint8Array(n),
        next: 0,
        movedAt: now,
        waiters: null,
      };
    } else {
      // Re-insert: Map order is recency order.
      byClient.delete(clientId);
      ring.movedAt = now;
    }
    byClient.set(clientId, ring);
    return ring;
  };

  return {
    admit(clientId, messageId, dup, topic, payload, now) {
      const hash = fingerprint(topic, payload);
      const known = dup ? byClient.get(clientId) : undefined;
      const slot = known === undefined ? -1 : known.ids.indexOf(messageId);
      if (
        known !== undefined &&
        slot >= 0 &&
        known.length[slot] === payload.byteLength &&
        known.hash[slot] === hash
      ) {
        switch (STATES[known.state[slot]!]!) {
          case 'committed':
            return COMMITTED;
          case 'pending':
            return {
              kind: 'pending',
              wait: (settle) => {
                known.waiters ??= new Map();
                const waiting = known.waiters.get(slot) ?? [];
                waiting.push(settle);
                known.waiters.set(slot, waiting);
              },
            };
          case 'failed':
            known.state[slot] = STATE_CODE.pending;
            return new Ticket('retry', known.receivedAt[slot]!, known, slot);
        }
      }
      const ring = ringOf(clientId, now);
      // A packet id seen again without a match is a new message: it takes the old slot's place.
      const previous = ring.ids.indexOf(messageId);
      let at = previous;
      if (at < 0) {
        at = ring.next;
        ring.next = (ring.next + 1) % ring.ids.length;
      }
      ring.generation[at] = ring.generation[at]! + 1;
      ring.waiters?.delete(at);
      ring.ids[at] = messageId;
      ring.hash[at] = hash;
      ring.length[at] = payload.byteLength;
      ring.receivedAt[at] = now;
      ring.state[at] = STATE_CODE.pending;
      return new Ticket('new', now, ring, at);
    },
    get clients() {
      return byClient.size;
    },
  };
}

const RECENCY_RESOLUTION_MS = 1000;

const COMMITTED: ResendDecision = { kind: 'committed' };

/**
 * A first delivery (or a retry) and where its outcome goes: one object per
 * message, where a closure over the slot was three.
 */
class Ticket {
  private readonly generation: number;

  constructor(
    readonly kind: 'new' | 'retry',
    readonly receivedAt: number,
    private readonly ring: ClientRing,
    private readonly slot: number,
  ) {
    this.generation = ring.generation[slot]!;
  }

  settled(err?: Error): void {
    const { ring, slot } = this;
    if (ring.generation[slot] !== this.generation) return;
    ring.state[slot] = STATE_CODE[err === undefined ? 'committed' : 'failed'];
    const waiters = ring.waiters?.get(slot);
    if (waiters === undefined) return;
    ring.waiters!.delete(slot);
    for (const w of waiters) w(err);
  }
}

/** FNV-1a over topic and payload: only compared when ClientId, packet id and DUP already match, with the length. */
function fingerprint(topic: string, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= 0;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
