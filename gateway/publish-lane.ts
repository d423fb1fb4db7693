// A lane past aedes for the message a sensor sends all day: a QoS 0 or 1
// PUBLISH, not retained, on a connected MQTT 3.1/3.1.1 session. aedes would
// parse it into a Packet, run it through its handler series, write the PUBACK
// as three small chunks and route it through its emitter, all to reach the
// one hook (authorizePublish) where the gateway holds the ack until the
// commit. Here the same hook is called with the fields read straight from the
// socket's bytes, and the PUBACKs a commit releases leave as one buffer per
// connection.
//
// aedes stays the broker for everything else: CONNECT, SUBSCRIBE, PINGREQ,
// QoS 2, retained messages, wills, takeover. It sees the other packets'
// bytes in order, and its own per-chunk accounting decides when the socket
// is read again: each message of the lane counts in it as one of its own
// packets would (aedes lib/client.js `_parsingBatch`, `_nextBatch`), so
// backpressure, pause() (the rate limit) and the drain timeout hold as they did.
// Routing after the ack is aedes' own `publish`, which the telemetry routing
// skip (telemetry-routing.ts) makes free when nobody subscribes.
//
// The lane reaches into four fields of aedes' Client; `attachPublishLane`
// checks them and leaves a client on aedes' path if one is missing.

import type { Aedes, Client, PublishPacket } from 'aedes';

/** The parts of aedes 1.2's Client the lane relies on (node_modules/aedes/lib/client.js). */
interface ClientInternals {
  _parser: { parse(buf: Buffer): unknown };
  _parsingBatch: number;
  _nextBatch(err?: Error | null): void;
  _keepaliveInterval: number;
  _keepaliveTimer: { refresh(): void } | null;
  connackSent: boolean;
  closed: boolean;
  version: number | null;
  waitForDrain(done: (err: Error | null) => void): void;
}

/** Packets larger than this are not gathered across reads: they go to aedes' parser as they come. */
const MAX_GATHERED_BYTES = 64 * 1024;
const PUBLISH = 3;

/** A message of the lane as the publish hook sees it; `batchedAck` tells the hook not to cork. */
export type LanePacket = PublishPacket & { batchedAck: true };

export interface PublishLane {
  /** Puts the lane in front of this client's parser; false (and aedes' path) if aedes' internals differ. */
  attach(client: Client): boolean;
  /** messages that went through the lane since the start */
  readonly messages: number;
}

export function createPublishLane(broker: Aedes): PublishLane {
  const acks = createAckBatcher(broker);
  // aedes closes a connection whose PUBLISH is deeper than this; such a packet is left to it.
  const maxLevels = (broker as unknown as { maxTopicLevels?: number }).maxTopicLevels ?? 100;
  let messages = 0;
  return {
    attach(client) {
      const c = client as unknown as ClientInternals;
      if (
        typeof c._parser?.parse !== 'function' ||
        typeof c._nextBatch !== 'function' ||
        typeof c._parsingBatch !== 'number' ||
        typeof c.waitForDrain !== 'function'
      )
        return false;
      const aedesParse = c._parser.parse.bind(c._parser);
      const framer = createFramer(
        maxLevels,
        (packet) => {
          // An earlier packet of the same read (a DISCONNECT) may have closed
          // it: aedes destroys the socket at once and marks the client closed
          // later. Such a message could never be acked; it is not stored either.
          if (c.closed || client.conn.destroyed) return;
          messages++;
          c._parsingBatch++;
          if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
          broker.authorizePublish(client, packet, (err) => {
            // aedes' own answer to a refused publish: the error closes the connection.
            if (err) return c._nextBatch(err);
            acks.release(client, packet);
          });
        },
        aedesParse,
      );
      c._parser.parse = (buf: Buffer) => {
        if (!c.connackSent || c.closed) framer.passThrough(buf);
        else framer.scan(buf);
      };
      return true;
    },
    get messages() {
      return messages;
    },
  };
}

interface Framer {
  /** Splits a chunk into packets: the lane's go to `take`, the rest to aedes in order. */
  scan(chunk: Buffer): void;
  /** Before CONNACK everything is aedes': only the packet boundaries are followed. */
  passThrough(chunk: Buffer): void;
}

function createFramer(
  maxLevels: number,
  take: (packet: LanePacket) => void,
  toAedes: (buf: Buffer) => unknown,
): Framer {
  // Bytes of a packet already handed to aedes that are still to come.
  let aedesOwes = 0;
  // The start of a small packet that did not fit in its read.
  let gathered: Buffer | undefined;
  // A Remaining Length over four bytes: the stream is aedes' from here (it will refuse it).
  let lost = false;

  const follow = (buf: Buffer, lane: boolean) => {
    let i = 0;
    let from = 0;
    const n = buf.length;
    while (i < n) {
      if (aedesOwes > 0) {
        const step = Math.min(aedesOwes, n - i);
        aedesOwes -= step;
        i += step;
        continue;
      }
      const header = readHeader(buf, i);
      if (header === MALFORMED) {
        lost = true;
        break;
      }
      const end = header === INCOMPLETE ? -1 : header.bodyAt + header.length;
      if (header === INCOMPLETE || end > n) {
        const total = header === INCOMPLETE ? 0 : end - i;
        if (total <= MAX_GATHERED_BYTES) {
          if (from < i) toAedes(buf.subarray(from, i));
          gathered = Buffer.from(buf.subarray(i));
          return;
        }
        aedesOwes = end - n;
        i = n;
        break;
      }
      const packet = lane ? readPublish(buf, buf[i]!, header.bodyAt, end, maxLevels) : undefined;
      if (packet !== undefined) {
        if (from < i) toAedes(buf.subarray(from, i));
        take(packet);
        from = end;
      }
      i = end;
    }
    if (lost) i = n;
    if (from < i) toAedes(from === 0 && i === n ? buf : buf.subarray(from, i));
  };

  const withGathered = (chunk: Buffer) => {
    if (gathered === undefined) return chunk;
    const joined = Buffer.concat([gathered, chunk]);
    gathered = undefined;
    return joined;
  };

  return {
    scan(chunk) {
      if (lost) return void toAedes(chunk);
      follow(withGathered(chunk), true);
    },
    passThrough(chunk) {
      if (lost) return void toAedes(chunk);
      follow(withGathered(chunk), false);
    },
  };
}

const INCOMPLETE = 0;
const MALFORMED = 1;

/** The fixed header at `i` [MQTT-2.2]: where the body starts and how long it is. */
function readHeader(
  buf: Buffer,
  i: number,
): { bodyAt: number; length: number } | typeof INCOMPLETE | typeof MALFORMED {
  let length = 0;
  let multiplier = 1;
  let p = i + 1;
  for (let k = 0; k < 4; k++) {
    if (p >= buf.length) return INCOMPLETE;
    const byte = buf[p++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { bodyAt: p, length };
    multiplier *= 128;
  }
  return MALFORMED;
}

/**
 * A PUBLISH the lane takes, or undefined for aedes to handle (and judge):
 * QoS 2, retained, a reserved QoS, a topic with wildcards or U+0000, an
 * empty topic, too many levels, or packet id 0.
 */
function readPublish(
  buf: Buffer,
  first: number,
  at: number,
  end: number,
  maxLevels: number,
): LanePacket | undefined {
  if (first >> 4 !== PUBLISH) return undefined;
  const qos = (first >> 1) & 3;
  if (qos > 1 || (first & 1) === 1) return undefined;
  if (end - at < 2) return undefined;
  const topicLength = buf.readUInt16BE(at);
  const topicEnd = at + 2 + topicLength;
  const idEnd = topicEnd + (qos === 1 ? 2 : 0);
  if (topicLength === 0 || idEnd > end) return undefined;
  let levels = 1;
  for (let k = at + 2; k < topicEnd; k++) {
    const b = buf[k]!;
    // '#', '+' and U+0000 are refused by aedes or mqtt-packet; let them refuse it.
    if (b === 0x23 || b === 0x2b || b === 0) return undefined;
    if (b === 0x2f) levels++;
  }
  if (levels > maxLevels) return undefined;
  const messageId = qos === 1 ? buf.readUInt16BE(topicEnd) : 0;
  if (qos === 1 && messageId === 0) return undefined;
  return {
    cmd: 'publish',
    topic: buf.toString('utf8', at + 2, topicEnd),
    // A copy: the read's buffer must not live as long as the message waits for its commit.
    payload: Buffer.from(buf.subarray(idEnd, end)),
    qos,
    dup: (first & 8) !== 0,
    retain: false,
    messageId,
    batchedAck: true,
  } as LanePacket;
}

/** aedes' publish also takes the publishing client (its types list only the two-argument form). */
type RoutePublish = (packet: PublishPacket, client: Client, done: (err?: Error | null) => void) => void;

interface AckBatcher {
  /** The hook let the message through (committed, for QoS 1): ack it with the others of this tick, then route it. */
  release(client: Client, packet: LanePacket): void;
}

// The acks a commit releases come in one synchronous loop (the pipeline
// settles a whole batch at once): each connection's are gathered and leave
// as one write when the loop is done.
function createAckBatcher(broker: Aedes): AckBatcher {
  const waiting = new Map<Client, LanePacket[]>();
  let scheduled = false;

  const route = (client: Client, packet: LanePacket) => {
    const c = client as unknown as ClientInternals;
    (broker.publish as unknown as RoutePublish)(packet, client, (err) => c._nextBatch(err ?? null));
  };

  const flush = () => {
    scheduled = false;
    for (const [client, packets] of waiting) {
      const c = client as unknown as ClientInternals;
      const conn = client.conn;
      // A closed connection has nothing to ack to, and the client resends
      // QoS 1; aedes routes QoS 0 whatever the connection's state, and so does the lane.
      if (c.closed || conn.destroyed) {
        for (const p of packets) if (p.qos === 0) route(client, p);
        continue;
      }
      let count = 0;
      for (const p of packets) if (p.qos === 1) count++;
      let drained = true;
      if (count > 0) {
        const out = Buffer.allocUnsafe(4 * count);
        let o = 0;
        for (const p of packets) {
          if (p.qos !== 1) continue;
          out[o] = 0x40;
          out[o + 1] = 2;
          out.writeUInt16BE(p.messageId!, o + 2);
          o += 4;
        }
        drained = conn.write(out);
      }
      // As aedes' write does: a socket that stopped reading holds the next
      // chunk back, and its drain timeout ends a client that never reads.
      if (drained) for (const p of packets) route(client, p);
      else c.waitForDrain((err) => (err ? c._nextBatch(err) : routeAll(client, packets)));
    }
    waiting.clear();
  };

  const routeAll = (client: Client, packets: readonly LanePacket[]) => {
    for (const p of packets) route(client, p);
  };

  return {
    release(client, packet) {
      const list = waiting.get(client);
      if (list === undefined) waiting.set(client, [packet]);
      else list.push(packet);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    },
  };
}
