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
    hold?: ResendHold,
  ): ResendDecision;
  readonly clients: number;
}

/**
 * A connection's hold on its ClientId's ring (gateway/connection-memo.ts):
 * its next message finds the ring there, not by ClientId in the LRU Map.
 * The Map is still visited once a second per client (RECENCY_RESOLUTION_MS),
 * which keeps the LRU order and lets a ring evicted meanwhile be replaced as before.
 */
export interface ResendHold {
  clientId: string | undefined;
  ring: ClientRing | undefined;
}

export function createResendHold(): ResendHold {
  return { clientId: undefined, ring: undefined };
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
 *
 * The arrays share one buffer, and a slot's fields sit side by side: each
 * message touches a ring gone cold since its client's last one, and six
 * arrays with buffers of their own were that many more places to miss the cache.
 */
export interface ClientRing {
  /** packet ids, -1 for an empty slot: searched for each DUP, newest first (newestSlot), so kept contiguous */
  ids: Int32Array;
  /** per slot, FIELDS words: generation, fingerprint, payload length, state */
  fields: Uint32Array;
  receivedAt: Float64Array;
  next: number;
  /** when it last moved to the recent end of the LRU order */
  movedAt: number;
  /** resends waiting for the original's outcome, by slot; rare, so made on demand */
  waiters: Map<number, Array<(err?: Error) => void>> | null;
}

const FIELDS = 4;
/** bumped each time a slot is reused, so a late settle of an evicted message changes nothing */
const GENERATION = 0;
const HASH = 1;
const LENGTH = 2;
const STATE = 3;

function newRing(n: number, now: number): ClientRing {
  const buffer = new ArrayBuffer(n * (8 + 4 + 4 * FIELDS));
  const ids = new Int32Array(buffer, 8 * n, n);
  ids.fill(-1);
  return {
    ids,
    fields: new Uint32Array(buffer, 12 * n, n * FIELDS),
    receivedAt: new Float64Array(buffer, 0, n),
    next: 0,
    movedAt: now,
    waiters: null,
  };
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
      ring = newRing(options.perClient, now);
    } else {
      // Re-insert: Map order is recency order.
      byClient.delete(clientId);
      ring.movedAt = now;
    }
    byClient.set(clientId, ring);
    return ring;
  };

  return {
    admit(clientId, messageId, dup, topic, payload, now, hold) {
      const hash = fingerprint(topic, payload);
      const known = dup ? byClient.get(clientId) : undefined;
      const slot = known === undefined ? -1 : newestSlot(known, messageId);
      const at = slot * FIELDS;
      if (
        known !== undefined &&
        slot >= 0 &&
        known.fields[at + LENGTH] === payload.byteLength &&
        known.fields[at + HASH] === hash
      ) {
        switch (STATES[known.fields[at + STATE]!]!) {
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
            known.fields[at + STATE] = STATE_CODE.pending;
            return new Ticket('retry', known.receivedAt[slot]!, known, slot);
        }
      }
      const held = hold?.clientId === clientId ? hold.ring : undefined;
      const ring =
        held !== undefined && now - held.movedAt < RECENCY_RESOLUTION_MS && now >= held.movedAt
          ? held
          : ringOf(clientId, now);
      if (hold !== undefined && held !== ring) {
        hold.clientId = clientId;
        hold.ring = ring;
      }
      // A packet id seen again without a match is a new message. It takes the
      // next slot like any other; the older slot with its id stays behind,
      // harmless, since a DUP is matched against the newest (newestSlot).
      // Searching the ring for the id on every message was a 64-entry scan
      // of memory gone cold since the client's last message.
      const to = ring.next;
      ring.next = (ring.next + 1) % ring.ids.length;
      const f = ring.fields;
      const base = to * FIELDS;
      f[base + GENERATION] = f[base + GENERATION]! + 1;
      f[base + HASH] = hash;
      f[base + LENGTH] = payload.byteLength;
      f[base + STATE] = STATE_CODE.pending;
      ring.waiters?.delete(to);
      ring.ids[to] = messageId;
      ring.receivedAt[to] = now;
      return new Ticket('new', now, ring, to);
    },
    get clients() {
      return byClient.size;
    },
  };
}

const RECENCY_RESOLUTION_MS = 1000;

/**
 * The slot of the newest message with this packet id, or -1. A resend
 * repeats the client's latest use of the id: an older slot with it is a
 * message the client has since acknowledged or given up, such as one of a
 * clean session before a reconnect, still pending here or not.
 */
function newestSlot(ring: ClientRing, messageId: number): number {
  const { ids } = ring;
  const n = ids.length;
  for (let k = 1; k <= n; k++) {
    const slot = (ring.next - k + n) % n;
    if (ids[slot] === messageId) return slot;
  }
  return -1;
}

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
    this.generation = ring.fields[slot * FIELDS + GENERATION]!;
  }

  settled(err?: Error): void {
    const { ring, slot } = this;
    const base = slot * FIELDS;
    if (ring.fields[base + GENERATION] !== this.generation) return;
    ring.fields[base + STATE] = STATE_CODE[err === undefined ? 'committed' : 'failed'];
    const waiters = ring.waiters?.get(slot);
    if (waiters === undefined) return;
    ring.waiters!.delete(slot);
    for (const w of waiters) w(err);
  }
}

/**
 * FNV-1a over topic and payload: only compared when ClientId, packet id and
 * DUP already match, with the length. The payload is taken four bytes at a
 * time: each step's multiply waits for the one before, and a step per byte
 * made that chain as long as the payload, for every QoS 1 message.
 */
function fingerprint(topic: string, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= 0;
  h = Math.imul(h, 0x01000193);
  const n = bytes.length;
  const whole = n & ~3;
  let i = 0;
  for (; i < whole; i += 4) {
    h ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = Math.imul(h, 0x01000193);
  }
  for (; i < n; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
