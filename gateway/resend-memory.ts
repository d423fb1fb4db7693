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

export interface ResendMemoryOptions {
  /** packet ids kept per ClientId: about a client's in-flight window */
  perClient: number;
  /** ClientIds kept, least recently used first out */
  maxClients: number;
}

/**
 * Where a first delivery's slot is noted, in the caller's own object (the
 * held message): its outcome then reaches the ring through `settle` with no
 * object made per message, and with one place less to fetch from memory.
 */
export interface ResendTicket {
  resendRing: ClientRing | undefined;
  resendSlot: number;
  resendGeneration: number;
}

export type ResendDecision =
  /** a first delivery, noted in the ticket: ingest it, then settle it */
  | { kind: 'new' }
  /** the original is committed: acknowledge at once */
  | { kind: 'committed' }
  /** the original is still in the pipeline: its outcome settles this one too */
  | { kind: 'pending'; wait: (settle: (err?: Error) => void) => void }
  /** the original failed to commit, noted in the ticket: ingest again, with the original receive time */
  | { kind: 'retry'; receivedAt: number };

export interface ResendMemory {
  /**
   * A QoS 1/2 delivery: a first one (or a retry of one that failed) is noted
   * in `ticket`, and its outcome goes to `settle`; a DUP of one remembered is
   * answered by that one's outcome.
   */
  admitInto(
    ticket: ResendTicket,
    clientId: string,
    messageId: number,
    dup: boolean,
    topic: string,
    payload: Uint8Array,
    now: number,
    hold?: ResendHold,
  ): ResendDecision;
  /** The outcome of a message admitInto noted; once, and a ticket whose slot was reused since changes nothing. */
  settle(ticket: ResendTicket, err?: Error): void;
  readonly clients: number;
}

/**
 * A connection's hold on its ClientId's ring (gateway/connection-memo.ts):
 * its next message finds the ring there, not by ClientId in the LRU Map.
 * The Map is still visited once a second per client (RECENCY_RESOLUTION_MS),
 * which keeps the LRU order and lets a ring evicted meanwhile be replaced as before.
 */
export interface ResendHold {
  heldClientId: string | undefined;
  heldRing: ClientRing | undefined;
}

const PENDING = 0;
const COMMITTED_STATE = 1;
const FAILED = 2;
/** in a slot's STATE beside the state: resends wait (waitersOf) for this slot's outcome */
const WAITED = 4;

/**
 * One client's last `perClient` packet ids, as a ring of slots in one
 * Float64Array. Every QoS 1/2 PUBLISH is remembered for as long as its client
 * sends `perClient` more: far beyond a young-generation GC, so one object per
 * message would die in the old generation. At 5000 clients that garbage made
 * the main thread's heap swing by hundreds of MB between major GCs, and each
 * major GC stall the event loop (issue: never blocks). A ring allocates once
 * per client.
 *
 * A slot's fields sit side by side, so that admitting a message and settling
 * it each fetch one slot's worth of memory: each message touches a ring gone
 * cold since its client's last one, and fields kept in arrays of their own
 * were that many more places to miss the cache.
 */
export type ClientRing = Float64Array;

/**
 * The ring's own numbers come first, in the same array: a ring object
 * beside it was one more object to fetch per message. Then SLOT numbers per slot.
 */
const NEXT = 0;
/** when it last moved to the recent end of the LRU order */
const MOVED_AT = 1;
const HEADER = 2;

const SLOT = 6;
const ID = 0;
/** bumped each time a slot is reused, so a late settle of an evicted message changes nothing */
const GENERATION = 1;
const HASH = 2;
const LENGTH = 3;
const STATE = 4;
const RECEIVED_AT = 5;

/** Where a slot's numbers start in its ring. */
function slotBase(slot: number): number {
  return HEADER + slot * SLOT;
}

function newRing(n: number, now: number): ClientRing {
  const ring = new Float64Array(HEADER + n * SLOT);
  ring[MOVED_AT] = now;
  for (let s = 0; s < n; s++) ring[slotBase(s) + ID] = -1;
  return ring;
}

export function createResendMemory(options: ResendMemoryOptions): ResendMemory {
  const byClient = new Map<string, ClientRing>();
  const size = options.perClient;
  // Resends waiting for the original's outcome, by ring and slot: rare, so
  // kept aside; weakly, so a ring evicted with a waiter still goes.
  const waitersOf = new WeakMap<ClientRing, Map<number, Array<(err?: Error) => void>>>();
  const fresh = (ring: ClientRing, now: number) =>
    now - ring[MOVED_AT]! < RECENCY_RESOLUTION_MS && now >= ring[MOVED_AT]!;

  const ringOf = (clientId: string, now: number): ClientRing => {
    let ring = byClient.get(clientId);
    // LRU to the second: moving a ring to the recent end is a Map delete and
    // insert, and doing it on every message was a measurable share of the
    // main thread at saturation. An active client still moves once a second.
    if (ring !== undefined && fresh(ring, now)) return ring;
    if (ring === undefined) {
      if (byClient.size >= options.maxClients) {
        const oldest = byClient.keys().next().value;
        if (oldest !== undefined) byClient.delete(oldest);
      }
      ring = newRing(options.perClient, now);
    } else {
      // Re-insert: Map order is recency order.
      byClient.delete(clientId);
      ring[MOVED_AT] = now;
    }
    byClient.set(clientId, ring);
    return ring;
  };

  /** A DUP that matches a remembered message (same packet id, length and fingerprint): its slot, or -1. */
  const remembered = (clientId: string, messageId: number, hash: number, length: number) => {
    // By ClientId, not through a hold: a resend mostly comes on a new connection.
    const known = byClient.get(clientId);
    if (known === undefined) return { known, slot: -1 };
    const slot = newestSlot(known, size, messageId);
    const at = slotBase(slot);
    const match = slot >= 0 && known[at + LENGTH] === length && known[at + HASH] === hash;
    return { known, slot: match ? slot : -1 };
  };

  const waitOn = (ring: ClientRing, slot: number) => (settle: (err?: Error) => void) => {
    const state = slotBase(slot) + STATE;
    ring[state] = ring[state]! | WAITED;
    let waiters = waitersOf.get(ring);
    if (waiters === undefined) {
      waiters = new Map();
      waitersOf.set(ring, waiters);
    }
    const waiting = waiters.get(slot) ?? [];
    waiting.push(settle);
    waiters.set(slot, waiting);
  };

  /** The ticket now names this slot, as it is now. */
  const hand = (ticket: ResendTicket, ring: ClientRing, slot: number) => {
    ticket.resendRing = ring;
    ticket.resendSlot = slot;
    ticket.resendGeneration = ring[slotBase(slot) + GENERATION]! | 0;
  };

  /** A first delivery takes the next slot of the client's ring, named in the ticket. */
  const note = (
    ticket: ResendTicket,
    clientId: string,
    messageId: number,
    hash: number,
    length: number,
    now: number,
    hold: ResendHold | undefined,
  ): void => {
    const held = hold?.heldClientId === clientId ? hold.heldRing : undefined;
    const ring = held !== undefined && fresh(held, now) ? held : ringOf(clientId, now);
    if (hold !== undefined && held !== ring) {
      hold.heldClientId = clientId;
      hold.heldRing = ring;
    }
    // A packet id seen again without a match is a new message. It takes the
    // next slot like any other; the older slot with its id stays behind,
    // harmless, since a DUP is matched against the newest (newestSlot).
    // Searching the ring for the id on every message was a scan of memory
    // gone cold since the client's last message.
    const to = ring[NEXT]!;
    ring[NEXT] = to + 1 === size ? 0 : to + 1;
    const base = slotBase(to);
    if ((ring[base + STATE]! & WAITED) !== 0) waitersOf.get(ring)?.delete(to);
    ring[base + ID] = messageId;
    // Kept in int32 range, like the copy in a ticket: a small integer there is no heap number.
    ring[base + GENERATION] = (ring[base + GENERATION]! + 1) | 0;
    ring[base + HASH] = hash;
    ring[base + LENGTH] = length;
    ring[base + STATE] = PENDING;
    ring[base + RECEIVED_AT] = now;
    hand(ticket, ring, to);
  };

  const settle = (ring: ClientRing, slot: number, generation: number, err?: Error) => {
    const base = slotBase(slot);
    if ((ring[base + GENERATION]! | 0) !== generation) return;
    const waited = (ring[base + STATE]! & WAITED) !== 0;
    ring[base + STATE] = err === undefined ? COMMITTED_STATE : FAILED;
    if (!waited) return;
    const waiters = waitersOf.get(ring);
    const waiting = waiters?.get(slot);
    if (waiting === undefined) return;
    waiters!.delete(slot);
    for (const w of waiting) w(err);
  };

  return {
    admitInto(ticket, clientId, messageId, dup, topic, payload, now, hold) {
      const hash = fingerprint(topic, payload);
      const length = payload.byteLength;
      if (dup) {
        const { known, slot } = remembered(clientId, messageId, hash, length);
        if (known !== undefined && slot >= 0) {
          const base = slotBase(slot);
          switch (known[base + STATE]! & 3) {
            case COMMITTED_STATE:
              return COMMITTED;
            case PENDING:
              return { kind: 'pending', wait: waitOn(known, slot) };
            default:
              // Failed: ingested again under the same slot, at the original receive time.
              known[base + STATE] = PENDING | (known[base + STATE]! & WAITED);
              hand(ticket, known, slot);
              return { kind: 'retry', receivedAt: known[base + RECEIVED_AT]! };
          }
        }
      }
      note(ticket, clientId, messageId, hash, length, now, hold);
      return NEW;
    },
    settle(ticket, err) {
      const ring = ticket.resendRing;
      if (ring === undefined) return;
      ticket.resendRing = undefined;
      settle(ring, ticket.resendSlot, ticket.resendGeneration, err);
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
function newestSlot(ring: ClientRing, size: number, messageId: number): number {
  const next = ring[NEXT]!;
  for (let k = 1; k <= size; k++) {
    const slot = (next - k + size) % size;
    if (ring[slotBase(slot) + ID] === messageId) return slot;
  }
  return -1;
}

const COMMITTED = { kind: 'committed' } as const;
const NEW = { kind: 'new' } as const;

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
