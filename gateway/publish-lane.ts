// A lane past aedes for the message a sensor sends all day: a QoS 0 or 1
// PUBLISH, not retained, on a connected MQTT 3.1/3.1.1 session. aedes would
// parse it into a Packet, run it through its handler series, write the PUBACK
// as three small chunks and route it through its emitter, all to reach the
// one hook (authorizePublish) where the gateway holds the ack until the
// commit. Here the same hook is called with the fields read straight from the
// socket's bytes, and the PUBACKs a commit releases leave in one write per
// connection.
//
// aedes stays the broker for everything else: CONNECT, SUBSCRIBE, PINGREQ,
// QoS 2, retained messages, wills, takeover. It sees the other packets'
// bytes in order, and its own per-chunk accounting decides when the socket
// is read again: each message of the lane counts in it as one of its own
// packets would (aedes lib/client.js `_parsingBatch`, `_nextBatch`), so its
// reads and the drain timeout go on as they did.
// Routing after the ack is aedes' own `publish`, which the telemetry routing
// skip (telemetry-routing.ts) makes free when nobody subscribes.
//
// The lane reaches into fields of aedes' Client; `attach` checks them and
// leaves a client on aedes' path if one is missing.

import type { Readable } from 'node:stream';
import type { Aedes, Client, PublishPacket } from 'aedes';
import { GatewayError, gatewayError } from '../core/errors.js';
import { type ConnectionMemo, type ConnectionMemos, createConnectionMemos } from './connection-memo.js';
import type { PacketSizeCheck } from './limits/connection-guard.js';

/** The parts of aedes 1.2's Client the lane relies on (node_modules/aedes/lib/client.js). */
interface ClientInternals {
  _parser: { parse(buf: Buffer): unknown };
  _parsingBatch: number;
  _paused?: boolean;
  _nextBatch(err?: Error | null): void;
  _keepaliveInterval: number;
  _keepaliveTimer: { refresh(): void } | null;
  connackSent: boolean;
  closed: boolean;
  waitForDrain(done: (err: Error | null) => void): void;
}

/** The longest a read may follow the lane's last keepalive refresh and skip its own. */
const MAX_REFRESH_SKIP_MS = 1000;
/** Payloads up to this many bytes are copied by a loop, larger ones by Buffer#copy. */
const SMALL_PAYLOAD = 256;
/** Packets larger than this are not gathered across reads: they go to aedes' parser as they come. */
const MAX_GATHERED_BYTES = 64 * 1024;
const PUBLISH = 3;

/**
 * A message of the lane as the publish hook sees it; `batchedAck` marks it
 * (aedes' own packets have no such field), `memo` is its connection's, `seq`
 * its place among the lane's messages of that connection.
 */
export type LanePacket = PublishPacket & { batchedAck: true; memo: ConnectionMemo; seq: number };

export interface PublishLane {
  /**
   * Puts the lane in front of this client's parser; false (and aedes' path)
   * if aedes' internals differ. With `size`, the lane also checks each
   * packet's size from its fixed header, which it reads anyway, and claims
   * the check (connection-guard.ts).
   */
  attach(client: Client, size?: PacketSizeCheck): boolean;
  /**
   * Writes the PUBACKs the lane released for this client and has not written
   * yet. For an ack aedes is about to write on the same connection, which
   * must follow them [MQTT-4.6.0-2].
   */
  flushAcks(client: Client): void;
  /** messages that went through the lane since the start */
  readonly messages: number;
}

export interface PublishLaneOptions {
  /** a monotonic clock in ms, for the keepalive refreshes; performance.now by default */
  now?: () => number;
  /** the registry of connection memos the publish hook uses too; a registry of its own by default */
  memos?: ConnectionMemos;
}

export function createPublishLane(broker: Aedes, options: PublishLaneOptions = {}): PublishLane {
  const now = options.now ?? (() => performance.now());
  const memos = options.memos ?? createConnectionMemos();
  const acks = createAckBatcher(broker);
  // aedes closes a connection whose PUBLISH is deeper than this; such a packet is left to it.
  const maxLevels = (broker as unknown as { maxTopicLevels?: number }).maxTopicLevels ?? 100;
  let messages = 0;
  return {
    attach(client, size) {
      const c = client as unknown as ClientInternals;
      if (
        typeof c._parser?.parse !== 'function' ||
        typeof c._nextBatch !== 'function' ||
        typeof c._parsingBatch !== 'number' ||
        typeof c.waitForDrain !== 'function'
      )
        return false;
      const aedesParse = c._parser.parse.bind(c._parser);
      const owed = acks.open(client);
      const memo = memos.of(client);
      // The packets of one read arrived together: the first one's keepalive
      // refresh stands for the rest (a timer refresh per message was ~1 % of
      // the main thread at saturation). It comes before the hook, which may
      // close the client, and a closed client's timer must stay cleared.
      // And a read soon after the lane's last refresh skips it: a refresh per
      // read was again ~1 % of the main thread, a timer list moved each time.
      // "Soon" is a thirtieth of the timeout (1.5 keepalives), at most a
      // second: the timer may then run out that much before 1.5 keepalives
      // after this read, a tenth of the half keepalive of grace a client has
      // past its own keepalive [MQTT-3.1.2-23], [MQTT-3.1.2-24].
      let refreshed = false;
      let refreshedAt = Number.NEGATIVE_INFINITY;
      const framer = createFramer(
        maxLevels,
        memo,
        size,
        (packet) => {
          // An earlier packet of the same read (a DISCONNECT) may have closed
          // it: aedes destroys the socket at once and marks the client closed
          // later. Such a message could never be acked; it is not stored either.
          if (c.closed || client.conn.destroyed) return;
          messages++;
          c._parsingBatch++;
          packet.seq = owed.taken++;
          if (!refreshed) {
            refreshed = true;
            if (c._keepaliveInterval > 0) {
              const at = now();
              if (at - refreshedAt >= Math.min(c._keepaliveInterval / 30, MAX_REFRESH_SKIP_MS)) {
                refreshedAt = at;
                c._keepaliveTimer?.refresh();
              }
            }
          }
          broker.authorizePublish(client, packet, (err) => {
            // aedes' own answer to a refused publish: the error closes the connection.
            if (err) return c._nextBatch(err);
            acks.release(owed, packet);
          });
        },
        aedesParse,
      );
      size?.claim();
      c._parser.parse = (buf: Buffer) => {
        refreshed = false;
        framer.feed(buf, c.connackSent && !c.closed);
      };
      // The socket's reads reach the framer straight from the push of each
      // read, when aedes would take that read at once anyway: the connection is
      // past CONNACK, no packet of it is in progress, nothing waits in the
      // stream's buffer ahead of it, and no 'data' listener must see it. On the
      // way through the stream (buffered, a nextTick, 'readable', aedes'
      // nextBatch, read(null)), each read cost about a tenth of the main
      // thread at saturation (docs/benchmarks.md, "The lane takes the socket's
      // reads"). Any other read goes through the stream as before, so holding
      // a message still stops the reads: the next read waits in the buffer,
      // and past its high-water mark the socket stops reading. One difference:
      // reads pushed in one go (a WebSocket's frames, TLS records) were joined
      // into one read on aedes' path; here the first is taken at once, and the
      // rest take their turn through the stream behind its messages.
      const conn = client.conn as Readable;
      const push = conn.push;
      conn.push = (chunk: unknown, encoding?: BufferEncoding) => {
        if (
          c._parsingBatch <= 0 &&
          !c._paused &&
          c.connackSent &&
          !c.closed &&
          Buffer.isBuffer(chunk) &&
          // The stream's own push refuses these; it still does.
          !conn.destroyed &&
          !conn.readableEnded &&
          conn.readableLength === 0 &&
          conn.listenerCount('data') === 0
        ) {
          // What aedes' nextBatch does with a read.
          c._parsingBatch = 0;
          c._parser.parse(chunk);
          return true;
        }
        return push.call(conn, chunk, encoding);
      };
      return true;
    },
    flushAcks(client) {
      acks.flushAcks(client);
    },
    get messages() {
      return messages;
    },
  };
}

interface Framer {
  /**
   * Splits a chunk into packets: with `lane`, the lane's go to `take`; the
   * rest go to aedes in order. Before CONNACK (`lane` false) everything is
   * aedes', and only the packet boundaries are followed.
   */
  feed(chunk: Buffer, lane: boolean): void;
}

function createFramer(
  maxLevels: number,
  memo: ConnectionMemo,
  size: PacketSizeCheck | undefined,
  take: (packet: LanePacket) => void,
  toAedes: (buf: Buffer) => unknown,
): Framer {
  const maxPacketBytes = size?.maxPacketBytes ?? Number.POSITIVE_INFINITY;
  // Bytes of a packet already handed to aedes that are still to come.
  let aedesOwes = 0;
  // The start of a small packet that did not fit in its read, kept as the
  // reads came: joined once the packet is whole, so a packet that arrives a
  // byte at a time costs its length, not its length squared.
  const gathered: Buffer[] = [];
  let gatheredBytes = 0;
  // The gathered packet's length once its header is known; 0 before.
  let gatheredNeeds = 0;
  // A Remaining Length over four bytes: the stream is aedes' from here (it will refuse it).
  let lost = false;
  // A packet broke the size check: the connection is destroyed, nothing more of it is read.
  let refused = false;
  const refuse = (err: GatewayError) => {
    refused = true;
    gathered.length = 0;
    size?.violated(err);
  };
  const topics = new TopicMemo();

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
      // Judged from the header alone, before any of the body is read or kept;
      // a header cut short or malformed by what its length bytes so far declare,
      // as the guard's scanner judges it, whatever the reads it came in.
      const declared = header.bodyAt - i + header.length;
      if (declared > maxPacketBytes)
        return refuse(new GatewayError('GW_ERR_PACKET_TOO_LARGE', [declared, maxPacketBytes]));
      if (header.state === MALFORMED) {
        if (size !== undefined)
          return refuse(gatewayError('GW_ERR_PACKET_MALFORMED', 'Remaining Length over 4 bytes'));
        lost = true;
        break;
      }
      const end = header.state === INCOMPLETE ? -1 : header.bodyAt + header.length;
      if (header.state === INCOMPLETE || end > n) {
        const total = header.state === INCOMPLETE ? 0 : end - i;
        if (total <= MAX_GATHERED_BYTES) {
          if (from < i) toAedes(buf.subarray(from, i));
          gathered.push(Buffer.from(buf.subarray(i)));
          gatheredBytes = n - i;
          gatheredNeeds = total;
          return;
        }
        aedesOwes = end - n;
        i = n;
        break;
      }
      const packet = lane
        ? readPublish(buf, buf[i]!, header.bodyAt, end, maxLevels, topics, memo)
        : undefined;
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

  /** The bytes to frame now, or undefined while the gathered packet is still short. */
  const withGathered = (chunk: Buffer): Buffer | undefined => {
    if (gathered.length === 0) return chunk;
    gathered.push(chunk);
    gatheredBytes += chunk.length;
    if (gatheredNeeds > 0 && gatheredBytes < gatheredNeeds) return undefined;
    const joined = Buffer.concat(gathered, gatheredBytes);
    gathered.length = 0;
    gatheredBytes = 0;
    gatheredNeeds = 0;
    return joined;
  };

  return {
    feed(chunk, lane) {
      if (refused) return;
      if (lost) return void toAedes(chunk);
      const buf = withGathered(chunk);
      if (buf !== undefined) follow(buf, lane);
    },
  };
}

const WHOLE = 0;
const INCOMPLETE = 1;
const MALFORMED = 2;

/**
 * The fixed header at `i` [MQTT-2.2]: where the body starts and how long it
 * is; or, for a header cut short (INCOMPLETE) or with a Remaining Length over
 * four bytes (MALFORMED), where its length bytes so far end and the length
 * they declare. Either way `bodyAt - i + length` is the least size it declares.
 */
function readHeader(
  buf: Buffer,
  i: number,
): { state: typeof WHOLE | typeof INCOMPLETE | typeof MALFORMED; bodyAt: number; length: number } {
  let length = 0;
  let multiplier = 1;
  let p = i + 1;
  for (let k = 0; k < 4; k++) {
    if (p >= buf.length) return { state: INCOMPLETE, bodyAt: p, length };
    const byte = buf[p++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { state: WHOLE, bodyAt: p, length };
    multiplier *= 128;
  }
  return { state: MALFORMED, bodyAt: p, length };
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
  topics: TopicMemo,
  memo: ConnectionMemo,
): LanePacket | undefined {
  if (first >> 4 !== PUBLISH) return undefined;
  const qos = (first >> 1) & 3;
  if (qos > 1 || (first & 1) === 1) return undefined;
  if (end - at < 2) return undefined;
  const topicLength = buf.readUInt16BE(at);
  const topicEnd = at + 2 + topicLength;
  const idEnd = topicEnd + (qos === 1 ? 2 : 0);
  if (topicLength === 0 || idEnd > end) return undefined;
  const topic = topics.read(buf, at + 2, topicEnd, maxLevels);
  if (topic === undefined) return undefined;
  const messageId = qos === 1 ? buf.readUInt16BE(topicEnd) : 0;
  if (qos === 1 && messageId === 0) return undefined;
  // A copy: the read's buffer must not live as long as the message waits for
  // its commit. Copied into place, not through a view of the read (one object
  // less); a sensor's payload byte by byte, since Buffer#copy makes a view of
  // the source for each call (node:buffer _copyActual), a second object.
  const length = end - idEnd;
  const payload = Buffer.allocUnsafe(length);
  if (length <= SMALL_PAYLOAD) for (let k = 0; k < length; k++) payload[k] = buf[idEnd + k]!;
  else buf.copy(payload, 0, idEnd, end);
  return {
    cmd: 'publish',
    topic,
    payload,
    qos,
    dup: (first & 8) !== 0,
    retain: false,
    messageId,
    batchedAck: true,
    memo,
    seq: 0,
  } as LanePacket;
}

/**
 * The connection's last topic the lane took. A sensor publishes on one topic
 * all day: when the bytes match, the string is the one made before, already
 * checked, and already hashed by the Maps keyed by what it names (the
 * device's budget, its batch entry, its analytics), where a fresh string
 * per message was decoded, checked and hashed again each time.
 */
class TopicMemo {
  private bytes = new Uint8Array(0);
  private text = '';

  /** The topic at [from, to), or undefined for aedes to judge: wildcards, U+0000, too many levels. */
  read(buf: Buffer, from: number, to: number, maxLevels: number): string | undefined {
    const n = to - from;
    const known = this.bytes;
    if (known.length === n) {
      let k = 0;
      while (k < n && known[k] === buf[from + k]) k++;
      if (k === n) return this.text;
    }
    let levels = 1;
    for (let k = from; k < to; k++) {
      const b = buf[k]!;
      // '#', '+' and U+0000 are refused by aedes or mqtt-packet; let them refuse it.
      if (b === 0x23 || b === 0x2b || b === 0) return undefined;
      if (b === 0x2f) levels++;
    }
    if (levels > maxLevels) return undefined;
    this.text = buf.toString('utf8', from, to);
    // A memory of its own: a Buffer.from copy would be a slice of a shared
    // 8 KB pool, and 5000 connections' memos would keep that many pools.
    this.bytes = new Uint8Array(n);
    this.bytes.set(buf.subarray(from, to));
    return this.text;
  }
}

/** aedes' publish also takes the publishing client (its types list only the two-argument form). */
type RoutePublish = (packet: PublishPacket, client: Client, done: (err?: Error | null) => void) => void;

/** A connection's PUBACKs released in this round and not written yet. */
interface OwedAcks {
  client: Client;
  /** packet ids, in the order they were released: the first `count` */
  ids: number[];
  count: number;
  /** in the round's list of connections to write */
  listed: boolean;
  /** the lane's messages of the connection taken so far, and the seq of the next to settle */
  taken: number;
  next: number;
  /** messages the hook let through ahead of one before them, by seq (a plain topic's, a resend's) */
  early: Map<number, LanePacket> | undefined;
}

interface AckBatcher {
  /** Once per attached client: where its released PUBACKs wait for the end of the round. */
  open(client: Client): OwedAcks;
  /**
   * The hook let the message through (committed, for QoS 1): ack it this
   * round, then route it; after the messages before it, in the order taken.
   */
  release(owed: OwedAcks, packet: LanePacket): void;
  flushAcks(client: Client): void;
}

// The acks a commit releases come in one synchronous loop (the pipeline
// settles a whole batch at once). A connection's PUBACKs are gathered in
// the order received and leave, once the loop is done, as one buffer in one
// write: a write per PUBACK into a corked stream cost a Buffer and the
// stream's bookkeeping each, and a writev of them all. Order holds: the
// lane's PUBACKs leave in the order received (a message the hook lets through
// ahead of one before it waits for that one, `release`), and an
// ack aedes writes for the same connection (a retained message, a packet too
// big for the lane) first has the lane's owed ones written (flushAcks, called
// by the publish hook) [MQTT-4.6.0-2]. Routing, and with it aedes reading
// the socket again, waits until then too: it can parse and ack more, and
// those go to the next round, never into the list being walked.
function createAckBatcher(broker: Aedes): AckBatcher {
  const owedBy = new WeakMap<Client, OwedAcks>();
  // A round's lists, and the spare set the next round fills while this one is
  // walked: reused with counts, so a round allocates no arrays (fresh ones
  // grew by copying, round after round).
  let listed: OwedAcks[] = [];
  let listedCount = 0;
  let releasedClients: Client[] = [];
  let releasedPackets: LanePacket[] = [];
  let releasedCount = 0;
  let spare = { listed: [] as OwedAcks[], clients: [] as Client[], packets: [] as LanePacket[] };

  // aedes' nextBatch takes a falsy error as none: it is the routing's callback as it is.
  const route = (client: Client, packet: LanePacket) => {
    const c = client as unknown as ClientInternals;
    (broker.publish as unknown as RoutePublish)(packet, client, c._nextBatch);
  };

  const write = (owed: OwedAcks) => {
    const { client, ids, count } = owed;
    owed.listed = false;
    if (count === 0) return;
    const c = client as unknown as ClientInternals;
    // A closed connection's PUBACKs are lost with it; its client resends.
    if (!c.closed && !client.conn.destroyed) client.conn.write(pubackBytes(ids, count));
    // A count, not `ids.length = 0`, which would drop the array's store each round.
    owed.count = 0;
  };

  const flush = () => {
    const round = listed;
    const owedCount = listedCount;
    const clients = releasedClients;
    const packets = releasedPackets;
    const n = releasedCount;
    listed = spare.listed;
    releasedClients = spare.clients;
    releasedPackets = spare.packets;
    listedCount = 0;
    releasedCount = 0;
    spare = { listed: round, clients, packets };
    // Each entry is let go of as it is taken: the lists live on as the next
    // round's spare, and must not keep a message or a closed client alive.
    for (let i = 0; i < owedCount; i++) {
      write(round[i]!);
      round[i] = undefined as unknown as OwedAcks;
    }
    for (let i = 0; i < n; i++) {
      const client = clients[i]!;
      const packet = packets[i]!;
      clients[i] = undefined as unknown as Client;
      packets[i] = undefined as unknown as LanePacket;
      const c = client as unknown as ClientInternals;
      const conn = client.conn;
      // aedes routes QoS 0 whatever the connection's state, and does not wait
      // for the socket to drain; a QoS 1 PUBACK that could not be written is not
      // routed (the client resends), and one waiting in a full buffer routes on drain.
      if (packet.qos === 0) route(client, packet);
      else if (c.closed || conn.destroyed) continue;
      else if (conn.writableNeedDrain)
        c.waitForDrain((err) => (err ? c._nextBatch(err) : route(client, packet)));
      else route(client, packet);
    }
  };

  return {
    open(client) {
      const owed: OwedAcks = {
        client,
        ids: [],
        count: 0,
        listed: false,
        taken: 0,
        next: 0,
        early: undefined,
      };
      owedBy.set(client, owed);
      return owed;
    },
    release(owed, packet) {
      // Telemetry is let through in the order taken, by commits in order. A
      // plain topic is let through at once, a resent message once its first
      // copy commits: either can pass one still waiting [MQTT-4.6.0-2].
      if (packet.seq !== owed.next) {
        owed.early ??= new Map();
        owed.early.set(packet.seq, packet);
        return;
      }
      settle(owed, packet);
      const early = owed.early;
      if (early === undefined || early.size === 0) return;
      for (let p = early.get(owed.next); p !== undefined; p = early.get(owed.next)) {
        early.delete(p.seq);
        settle(owed, p);
      }
    },
    flushAcks(client) {
      const owed = owedBy.get(client);
      if (owed !== undefined && owed.count > 0) write(owed);
    },
  };

  function settle(owed: OwedAcks, packet: LanePacket): void {
    owed.next++;
    if (packet.qos === 1) {
      owed.ids[owed.count++] = packet.messageId!;
      if (!owed.listed) {
        owed.listed = true;
        listed[listedCount++] = owed;
      }
    }
    if (releasedCount === 0) process.nextTick(flush);
    releasedClients[releasedCount] = owed.client;
    releasedPackets[releasedCount++] = packet;
  }
}

/** PUBACKs [MQTT-3.4], back to back: type 4, remaining length 2, the packet id. */
function pubackBytes(messageIds: readonly number[], count: number): Buffer {
  const out = Buffer.allocUnsafe(4 * count);
  for (let i = 0; i < count; i++) {
    const id = messageIds[i]!;
    out[4 * i] = 0x40;
    out[4 * i + 1] = 2;
    out[4 * i + 2] = id >> 8;
    out[4 * i + 3] = id & 0xff;
  }
  return out;
}
