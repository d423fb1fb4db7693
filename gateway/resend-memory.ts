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

interface Entry {
  topic: string;
  length: number;
  hash: number;
  receivedAt: number;
  state: ResendState;
  waiters: Array<(err?: Error) => void>;
}

export interface ResendMemoryOptions {
  /** packet ids kept per ClientId: about a client's in-flight window */
  perClient: number;
  /** ClientIds kept, least recently used first out */
  maxClients: number;
}

export type ResendDecision =
  /** a first delivery: ingest it, then report its outcome */
  | { kind: 'new'; receivedAt: number; settled: (err?: Error) => void }
  /** the original is committed: acknowledge at once */
  | { kind: 'committed' }
  /** the original is still in the pipeline: its outcome settles this one too */
  | { kind: 'pending'; wait: (settle: (err?: Error) => void) => void }
  /** the original failed to commit: ingest again, with the original receive time */
  | { kind: 'retry'; receivedAt: number; settled: (err?: Error) => void };

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

export function createResendMemory(options: ResendMemoryOptions): ResendMemory {
  const byClient = new Map<string, Map<number, Entry>>();

  const remember = (clientId: string, messageId: number, entry: Entry) => {
    let ids = byClient.get(clientId);
    if (ids === undefined) {
      ids = new Map();
      if (byClient.size >= options.maxClients) {
        const oldest = byClient.keys().next().value;
        if (oldest !== undefined) byClient.delete(oldest);
      }
    } else {
      // Re-insert: Map order is recency order.
      byClient.delete(clientId);
    }
    byClient.set(clientId, ids);
    ids.delete(messageId);
    ids.set(messageId, entry);
    if (ids.size > options.perClient) {
      const oldest = ids.keys().next().value;
      if (oldest !== undefined) ids.delete(oldest);
    }
  };

  const settler = (entry: Entry) => (err?: Error) => {
    entry.state = err === undefined ? 'committed' : 'failed';
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const w of waiters) w(err);
  };

  return {
    admit(clientId, messageId, dup, topic, payload, now) {
      const hash = fingerprint(payload);
      const known = dup ? byClient.get(clientId)?.get(messageId) : undefined;
      if (
        known !== undefined &&
        known.topic === topic &&
        known.length === payload.byteLength &&
        known.hash === hash
      ) {
        switch (known.state) {
          case 'committed':
            return { kind: 'committed' };
          case 'pending':
            return { kind: 'pending', wait: (settle) => known.waiters.push(settle) };
          case 'failed':
            known.state = 'pending';
            return { kind: 'retry', receivedAt: known.receivedAt, settled: settler(known) };
        }
      }
      const entry: Entry = {
        topic,
        length: payload.byteLength,
        hash,
        receivedAt: now,
        state: 'pending',
        waiters: [],
      };
      remember(clientId, messageId, entry);
      return { kind: 'new', receivedAt: now, settled: settler(entry) };
    },
    get clients() {
      return byClient.size;
    },
  };
}

/** FNV-1a over the payload: only compared when ClientId, packet id, DUP and topic already match. */
function fingerprint(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
