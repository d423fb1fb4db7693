// The publish lane reads a sensor's QoS 0/1 PUBLISH straight from the socket's
// bytes, hands it to authorizePublish with batchedAck and gathers the PUBACKs a
// commit releases into one write; every other packet must still reach aedes,
// whole and in order. These tests drive a bare aedes broker with exact bytes
// over raw TCP, and hold each publish in the hook until the test releases it.

import { type EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConnectionMemos, createConnectionMemos } from '../../gateway/connection-memo.js';
import { createConnectionGuard } from '../../gateway/limits/connection-guard.js';
import { createPublishLane, type LanePacket, type PublishLane } from '../../gateway/publish-lane.js';
import { skipUnroutedTelemetry } from '../../gateway/telemetry-routing.js';
import { connectPacket } from '../hostile/support/raw-connection.js';

/** Items in arrival order; next() takes the oldest, waiting for one if there is none yet. */
function queue<T>() {
  const items: T[] = [];
  const waiters: Array<(item: T) => void> = [];
  return {
    push(item: T) {
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(item);
      else items.push(item);
    },
    next(): Promise<T> {
      if (items.length > 0) return Promise.resolve(items.shift()!);
      return new Promise<T>((resolve) => waiters.push(resolve));
    },
    /** taken without waiting: what has arrived so far */
    drain(): T[] {
      return items.splice(0);
    },
  };
}

/** One call of the publish hook, held until the test releases it. */
interface Held {
  client: Client | null;
  packet: PublishPacket & { batchedAck?: boolean };
  release(err?: Error | null): void;
}

/** The broker's side of one connection: what it read and wrote. */
interface ServerSide {
  client: Client;
  reads: ReturnType<typeof queue<number>>;
  /** the reads that came through the stream's buffer (its read()), not straight from the socket's push */
  streamReads: ReturnType<typeof queue<number>>;
  writes: Buffer[];
}

/** A raw MQTT 3.1.1 connection: the test writes exact bytes and reads back every packet and chunk. */
interface Raw {
  socket: Socket;
  /** the broker's packets, in order */
  next(): Promise<Packet>;
  /** packets that arrived and were not taken with next() */
  unread(): Packet[];
  /** every data chunk the socket delivered, as it came */
  chunks: Buffer[];
  closed: Promise<unknown>;
  /** these packets' bytes in one socket write */
  send(...packets: Packet[]): void;
}

const bytes = (...packets: Packet[]) => Buffer.concat(packets.map((p) => mqttPacket.generate(p)));

const publish = (
  topic: string,
  payload: Buffer | string,
  qos: 0 | 1 | 2,
  messageId?: number,
  flags: { dup?: boolean; retain?: boolean } = {},
): Packet => ({
  cmd: 'publish',
  topic,
  payload,
  qos,
  ...(messageId !== undefined ? { messageId } : {}),
  dup: flags.dup ?? false,
  retain: flags.retain ?? false,
});

const pingreq: Packet = { cmd: 'pingreq' };

describe('the publish lane in front of aedes', () => {
  let broker: Aedes;
  let lane: PublishLane;
  let server: Server;
  let port: number;
  let hooks: ReturnType<typeof queue<Held>>;
  /** the lane's clock, moved by hand */
  let clock = 0;
  let memos: ConnectionMemos;
  let serverSides: ReturnType<typeof queue<ServerSide>>;
  const sockets: Socket[] = [];
  const mqttClients: MqttClient[] = [];

  beforeEach(async () => {
    hooks = queue<Held>();
    serverSides = queue<ServerSide>();
    broker = await Aedes.createBroker({
      authorizePublish: (client, packet, callback) => {
        // As the gateway's hook does for plain MQTT topics outside the pipeline: let through at once.
        if (packet.topic.endsWith('/status')) return callback(null);
        // As the gateway's hook does (publish-authorizer.ts): before aedes acks, the lane's owed PUBACKs go out.
        const viaLane = (packet as Partial<LanePacket>).batchedAck === true;
        hooks.push({
          client,
          packet,
          release: (err = null) => {
            if (!viaLane && client !== null) lane.flushAcks(client);
            callback(err);
          },
        });
      },
    });
    clock = 0;
    memos = createConnectionMemos();
    lane = createPublishLane(broker, { now: () => clock, memos });
    server = createServer((conn) => {
      // Taps on the socket, not on the lane: what aedes read from it and what was written to it.
      const reads = queue<number>();
      const streamReads = queue<number>();
      const writes: Buffer[] = [];
      const read = conn.read.bind(conn);
      conn.read = (size?: number) => {
        const buf = read(size);
        if (buf !== null) streamReads.push((buf as Buffer).length);
        return buf;
      };
      const write = conn.write.bind(conn) as (chunk: unknown, ...rest: unknown[]) => boolean;
      conn.write = ((chunk: unknown, ...rest: unknown[]) => {
        writes.push(Buffer.from(chunk as Buffer));
        return write(chunk, ...rest);
      }) as typeof conn.write;
      const client = broker.handle(conn);
      expect(lane.attach(client)).toBe(true);
      // Each read the broker takes in, whether through the stream or straight
      // from the socket's push (the lane's own parse sees both).
      const parser = (client as unknown as { _parser: { parse(buf: Buffer): unknown } })._parser;
      const parse = parser.parse.bind(parser);
      parser.parse = (buf: Buffer) => {
        reads.push(buf.length);
        return parse(buf);
      };
      serverSides.push({ client, reads, streamReads, writes });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(mqttClients.splice(0).map((c) => c.endAsync(true)));
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  /** A TCP connection with no MQTT on it yet. */
  const open = async (): Promise<Raw> => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets = queue<Packet>();
    const chunks: Buffer[] = [];
    parser.on('packet', (p) => packets.push(p));
    socket.on('data', (d) => {
      chunks.push(d);
      parser.parse(d);
    });
    const closed = once(socket, 'close');
    await once(socket, 'connect');
    return {
      socket,
      next: packets.next,
      unread: packets.drain,
      chunks,
      closed,
      send: (...ps) => socket.write(bytes(...ps)),
    };
  };

  /**
   * One byte per socket write, each sent once the broker has read the one
   * before: every read aedes makes holds a single byte. (Writing them all at
   * once would let TCP coalesce them into a few reads.)
   */
  const trickle = async (raw: Raw, side: ServerSide, buf: Buffer) => {
    raw.socket.setNoDelay(true);
    side.reads.drain();
    for (let i = 0; i < buf.length; i++) {
      await new Promise<void>((resolve, reject) =>
        raw.socket.write(buf.subarray(i, i + 1), (err) => (err ? reject(err) : resolve())),
      );
      expect(await side.reads.next()).toBe(1);
    }
  };

  /** Resolves once aedes has finished this client's CONNECT: CONNACK sent, so the lane is live. */
  const ready = (clientId: string) =>
    new Promise<void>((resolve) => {
      const onReady = (client: Client) => {
        if (client.id !== clientId) return;
        broker.off('clientReady', onReady);
        resolve();
      };
      broker.on('clientReady', onReady);
    });

  /** A connected raw client, and the broker's side of it. */
  const connectRaw = async (clientId: string) => {
    const raw = await open();
    const isReady = ready(clientId);
    raw.send(connectPacket(clientId));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
    await isReady;
    return { raw, side: await serverSides.next() };
  };

  /** A round trip: everything the broker wrote before the PINGRESP arrived ahead of it. */
  const roundTrip = async (raw: Raw) => {
    raw.send(pingreq);
    const before: Packet[] = [];
    for (let p = await raw.next(); p.cmd !== 'pingresp'; p = await raw.next()) before.push(p);
    return before;
  };

  it('holds the PUBACK until the hook calls back, then sends exactly one', async () => {
    const { raw } = await connectRaw('one');
    const payload = Buffer.from([0, 1, 0xfe, 0xff, 0x7b]);
    raw.send(publish('devices/s1/telemetry', payload, 1, 4242, { dup: true }));

    const held = await hooks.next();
    expect(held.client?.id).toBe('one');
    expect(held.packet).toMatchObject({
      cmd: 'publish',
      batchedAck: true,
      topic: 'devices/s1/telemetry',
      qos: 1,
      dup: true,
      retain: false,
      messageId: 4242,
    });
    expect(Buffer.from(held.packet.payload)).toEqual(payload);
    expect(lane.messages).toBe(1);

    // Nothing may come before the answer to a ping sent while the hook holds it.
    expect(await roundTrip(raw)).toEqual([]);
    held.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 4242 });
    // One PUBACK, not two: the next thing the broker writes answers a new ping.
    expect(await roundTrip(raw)).toEqual([]);
  });

  it('acks a connection’s messages released in one tick in order, in one write', async () => {
    const { raw, side } = await connectRaw('batch');
    const ids = [11, 12, 13, 14];
    // The PINGREQ rides in the same write: while four messages are held aedes
    // reads no further (each counts as one of its packets in progress).
    raw.send(...ids.map((id) => publish(`devices/s${id}/telemetry`, `v${id}`, 1, id)), pingreq);
    const held: Held[] = [];
    for (const id of ids) {
      const h = await hooks.next();
      expect(h.packet).toMatchObject({ batchedAck: true, messageId: id, topic: `devices/s${id}/telemetry` });
      held.push(h);
    }
    // Nothing acked ahead of the answer to the ping.
    expect(await raw.next()).toMatchObject({ cmd: 'pingresp' });

    const chunksBefore = raw.chunks.length;
    const writesBefore = side.writes.length;
    // As the pipeline settles a commit: every callback in one synchronous loop.
    for (const h of held) h.release();
    for (const id of ids) expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: id });

    const pubacks = bytes(...ids.map((messageId): Packet => ({ cmd: 'puback', messageId })));
    // Gathered by the lane, they are one write to the socket and reach the client as one chunk.
    expect(side.writes.slice(writesBefore)).toEqual([pubacks]);
    expect(raw.chunks.slice(chunksBefore)).toEqual([pubacks]);
  });

  it('takes a read straight from the socket while nothing is in progress, and leaves one behind held messages in the stream', async () => {
    const { raw, side } = await connectRaw('direct');
    side.reads.drain();
    side.streamReads.drain();
    const first = bytes(publish('devices/d/telemetry', 'a', 1, 1), publish('devices/d/telemetry', 'b', 1, 2));
    raw.socket.write(first);
    const held = [await hooks.next(), await hooks.next()];
    const reads = side.reads.drain();
    expect(reads.reduce((a, b) => a + b, 0)).toBe(first.length);
    // The first read not through the stream's buffer, 'readable' and read().
    // (Should TCP split the write, the part behind a held message takes the stream.)
    expect(side.streamReads.drain().length).toBeLessThan(reads.length);

    // Held, they are packets in progress: the next read waits in the stream,
    // as it did on aedes' path ('readable' counts for one of them there), and
    // is taken once the holds end.
    const second = bytes(publish('devices/d/telemetry', 'c', 1, 3));
    const waiting = once(side.client.conn, 'readable');
    raw.socket.write(second);
    await waiting;
    expect(side.reads.drain()).toEqual([]);
    for (const h of held) h.release();
    for (const id of [1, 2]) expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: id });
    (await hooks.next()).release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 3 });
    expect(side.streamReads.drain()).toEqual([second.length]);
  });

  it("leaves every read to the stream while a 'data' listener must see it", async () => {
    const { raw, side } = await connectRaw('listened');
    const seen: Buffer[] = [];
    // As the packet-size guard's scanner listens, where the lane could not claim the check.
    side.client.conn.on('data', (d: Buffer) => seen.push(d));
    side.reads.drain();
    side.streamReads.drain();
    const one = bytes(publish('devices/l/telemetry', 'a', 1, 1));
    raw.socket.write(one);
    (await hooks.next()).release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    expect(side.streamReads.drain()).toEqual(side.reads.drain());
    expect(Buffer.concat(seen).equals(one)).toBe(true);
  });

  it("hands each message its connection's memo from the registry the publish hook shares", async () => {
    const { raw, side } = await connectRaw('memo');
    const other = await connectRaw('memo-2');
    raw.send(publish('devices/m/telemetry', 'a', 1, 1));
    other.raw.send(publish('devices/n/telemetry', 'b', 1, 1));
    const held = [await hooks.next(), await hooks.next()];
    const memoOf = (h: Held) => (h.packet as Partial<LanePacket>).memo;
    const mine = held.find((h) => h.client === side.client)!;
    const theirs = held.find((h) => h.client === other.side.client)!;
    expect(memoOf(mine)).toBe(memos.of(side.client));
    expect(memoOf(theirs)).toBe(memos.of(other.side.client));
    expect(memoOf(mine)).not.toBe(memoOf(theirs));
    for (const h of held) h.release();
  });

  it('refreshes the keepalive once per read, before the hook sees that read’s messages', async () => {
    const { raw, side } = await connectRaw('alive');
    const timer = (side.client as unknown as { _keepaliveTimer: { refresh(): unknown } })._keepaliveTimer;
    const refresh = timer.refresh.bind(timer);
    let refreshes = 0;
    timer.refresh = () => {
      refreshes++;
      return refresh();
    };
    side.reads.drain();
    const ids = [21, 22, 23];
    raw.send(...ids.map((id) => publish(`devices/k${id}/telemetry`, `v${id}`, 1, id)));
    const held = [await hooks.next()];
    expect(refreshes).toBe(1);
    held.push(await hooks.next(), await hooks.next());
    // One write of three small packets reaches aedes as one read on loopback;
    // should TCP split it, a read refreshes at most once (none if it ends
    // inside the packet it starts). The old code refreshed once per message: 3.
    const reads = side.reads.drain().length;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(refreshes).toBeLessThanOrEqual(Math.min(reads, ids.length));
    if (reads === 1) expect(refreshes).toBe(1);
    for (const h of held) h.release();
    for (const id of ids) expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: id });

    // A read within a second of the last refresh skips it (with a keepalive of
    // 60 s the timer runs 90 s); one after that refreshes.
    const before = refreshes;
    clock += 999;
    raw.send(publish('devices/k24/telemetry', 'v24', 1, 24));
    (await hooks.next()).release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 24 });
    expect(refreshes).toBe(before);
    clock += 1;
    raw.send(publish('devices/k25/telemetry', 'v25', 1, 25));
    (await hooks.next()).release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 25 });
    expect(refreshes).toBe(before + 1);
  });

  it('acks a message parsed while the lane routes the ones a commit released', async () => {
    skipUnroutedTelemetry(broker);
    const { raw, side } = await connectRaw('reentrant');
    raw.send(publish('devices/r/telemetry', 'a', 1, 1), publish('devices/r/telemetry', 'b', 1, 2));
    const held = [await hooks.next(), await hooks.next()];
    // It arrives while the two are held and waits in the socket: aedes reads
    // it during the routing that follows their release, and its hook answers at once.
    const arrived = once(side.client.conn, 'readable');
    raw.send(publish('devices/r/status', 'up', 1, 3));
    await arrived;
    for (const h of held) h.release();
    for (const id of [1, 2, 3]) expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: id });
  });

  it('keeps PUBACK order when a commit releases lane and aedes messages of one connection', async () => {
    const { raw } = await connectRaw('mixed');
    // The retained one goes through aedes, which writes its PUBACK as soon as its hook calls back.
    raw.send(
      publish('devices/m/telemetry', 'lane', 1, 1),
      publish('devices/m/telemetry', 'aedes', 1, 2, { retain: true }),
    );
    const held = [await hooks.next(), await hooks.next()];
    expect(held.map((h) => h.packet.batchedAck === true)).toEqual([true, false]);
    for (const h of held) h.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 2 });
  });

  it('writes PUBACKs in the order the PUBLISHes came when the hook lets a later one through first', async () => {
    const { raw } = await connectRaw('order');
    raw.send(publish('devices/o/telemetry', 'held', 1, 1));
    const first = await hooks.next();
    // A plain topic's hook answers at once: its PUBACK waits for the one before it.
    raw.send(publish('devices/o/status', 'up', 1, 2), publish('devices/o/telemetry', 'next', 1, 3));
    const third = await hooks.next();
    expect(third.packet).toMatchObject({ batchedAck: true, messageId: 3 });
    first.release();
    third.release();
    for (const id of [1, 2, 3]) expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: id });
  });

  it('parses CONNECT and PUBLISHes that arrive one byte at a time', async () => {
    const raw = await open();
    const side = await serverSides.next();
    const isReady = ready('trickle');
    await trickle(raw, side, bytes(connectPacket('trickle')));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
    await isReady;

    const sent = [
      publish('devices/t1/telemetry', '{"temp":21.5}', 1, 1),
      pingreq,
      publish('devices/t2/telemetry', Buffer.alloc(300, 0xab), 0),
      publish('devices/t3/telemetry/humidity', '', 1, 2, { dup: true }),
    ];
    // A read then completes at most one packet, so aedes reads on while the hook
    // holds them (it stops once more packets are in progress than reads came in).
    await trickle(raw, side, bytes(...sent));

    const handled: Held[] = [await hooks.next(), await hooks.next(), await hooks.next()];
    expect(handled.map((h) => h.packet)).toMatchObject([
      { batchedAck: true, topic: 'devices/t1/telemetry', qos: 1, messageId: 1, dup: false },
      { batchedAck: true, topic: 'devices/t2/telemetry', qos: 0, dup: false },
      { batchedAck: true, topic: 'devices/t3/telemetry/humidity', qos: 1, messageId: 2, dup: true },
    ]);
    expect(handled.map((h) => Buffer.from(h.packet.payload))).toEqual([
      Buffer.from('{"temp":21.5}'),
      Buffer.alloc(300, 0xab),
      Buffer.alloc(0),
    ]);
    expect(lane.messages).toBe(3);
    // The PINGREQ between them reached aedes.
    expect(await raw.next()).toMatchObject({ cmd: 'pingresp' });

    for (const h of handled) h.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 2 });
  });

  it('leaves a PUBLISH over 64 KiB to aedes, whole, and finds the next packet after it', async () => {
    const { raw, side } = await connectRaw('big');
    const payload = Buffer.alloc(200 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const big = bytes(publish('devices/big/telemetry', payload, 1, 77));
    const small = bytes(publish('devices/small/telemetry', 'after', 1, 78));

    side.reads.drain(); // the CONNECT
    // The head in a read of its own, so the packet surely spans reads; the tail
    // shares a write with the next PUBLISH, which the lane must still find.
    raw.socket.write(big.subarray(0, 1024));
    expect(await side.reads.next()).toBe(1024);
    raw.socket.write(Buffer.concat([big.subarray(1024), small]));

    const first = await hooks.next();
    expect(first.packet.batchedAck).toBeUndefined();
    expect(first.packet).toMatchObject({ topic: 'devices/big/telemetry', qos: 1, messageId: 77 });
    expect(Buffer.from(first.packet.payload).equals(payload)).toBe(true);
    const second = await hooks.next();
    expect(second.packet).toMatchObject({
      batchedAck: true,
      topic: 'devices/small/telemetry',
      messageId: 78,
    });
    expect(lane.messages).toBe(1);

    // Released in reverse: had either been acked before its release, that
    // PUBACK would come first.
    second.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 78 });
    first.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 77 });
    expect(await roundTrip(raw)).toEqual([]);
  });

  it('leaves a PUBLISH sent with the CONNECT, before the CONNACK, to aedes', async () => {
    const raw = await open();
    raw.send(connectPacket('eager'), publish('devices/e/telemetry', 'early', 1, 5));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', returnCode: 0 });

    const held = await hooks.next();
    expect(held.packet.batchedAck).toBeUndefined();
    expect(held.packet).toMatchObject({ topic: 'devices/e/telemetry', qos: 1, messageId: 5 });
    expect(Buffer.from(held.packet.payload).toString()).toBe('early');
    expect(lane.messages).toBe(0);

    expect(await roundTrip(raw)).toEqual([]);
    held.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 5 });
  });

  it('leaves QoS 2 and retained PUBLISHes to aedes and answers a PINGREQ between lane messages', async () => {
    const { raw } = await connectRaw('mixed');
    raw.send(
      publish('devices/m/telemetry', 'a', 1, 1),
      publish('devices/m/telemetry', 'b', 2, 2),
      pingreq,
      publish('devices/m/telemetry', 'c', 1, 3, { retain: true }),
      publish('devices/m/telemetry', 'd', 0),
    );
    const held: Held[] = [];
    for (let i = 0; i < 4; i++) held.push(await hooks.next());
    // In the order they were sent, whichever parser read them.
    expect(held.map((h) => [Buffer.from(h.packet.payload).toString(), h.packet.batchedAck ?? false])).toEqual(
      [
        ['a', true],
        ['b', false],
        ['c', false],
        ['d', true],
      ],
    );
    expect(held[1]!.packet).toMatchObject({ qos: 2, messageId: 2 });
    expect(held[2]!.packet).toMatchObject({ qos: 1, retain: true, messageId: 3 });
    expect(lane.messages).toBe(2);
    // Answered while all four are held.
    expect(await raw.next()).toMatchObject({ cmd: 'pingresp' });

    for (const h of held) h.release();
    // aedes and the lane write on their own schedules: compare as a set.
    const answers = [await raw.next(), await raw.next(), await raw.next()];
    expect(answers.map((p) => `${p.cmd} ${p.messageId}`).sort()).toEqual([
      'puback 1',
      'puback 3',
      'pubrec 2',
    ]);
    raw.send({ cmd: 'pubrel', messageId: 2 });
    expect(await raw.next()).toMatchObject({ cmd: 'pubcomp', messageId: 2 });
  });

  it('leaves a PUBLISH to a wildcard topic to aedes, which closes the connection', async () => {
    const { raw } = await connectRaw('wild');
    const clientError = once(broker, 'clientError');
    raw.send(publish('devices/+/telemetry', 'x', 1, 1));
    const [, err] = (await clientError) as [Client, Error];
    expect(err.message).toBe('+ is not allowed in PUBLISH');
    await raw.closed;
    expect(lane.messages).toBe(0);
    expect(raw.unread()).toEqual([]);
  });

  it('hands each message its own topic when a connection changes topics of the same length, and still leaves a wildcard one to aedes', async () => {
    const { raw } = await connectRaw('topics');
    // The lane remembers a connection's last topic: same-length neighbours must not be taken for it.
    const topics = [
      'devices/aa-1/telemetry',
      'devices/aa-2/telemetry',
      'devices/aa-1/telemetry',
      'devices/ab-1/telemetry',
    ];
    raw.send(...topics.map((t, i) => publish(t, `${i}`, 1, i + 1)));
    const seen: string[] = [];
    for (const _ of topics) {
      const held = await hooks.next();
      expect(held.packet.batchedAck).toBe(true);
      seen.push(held.packet.topic);
      held.release();
    }
    expect(seen).toEqual(topics);
    // as long as the remembered topic, one byte apart, and refused by aedes
    const clientError = once(broker, 'clientError');
    raw.send(publish('devices/a+-1/telemetry', 'x', 1, 9));
    const [, err] = (await clientError) as [Client, Error];
    expect(err.message).toBe('+ is not allowed in PUBLISH');
    expect(lane.messages).toBe(topics.length);
  });

  it('routes a lane message to a devices/# subscriber only after its ack is released', async () => {
    // As in the gateway: the routing skip is installed before anyone connects.
    const routing = skipUnroutedTelemetry(broker);
    const { raw } = await connectRaw('pub');

    // With no subscriber the lane's message is acked and its routing skipped.
    raw.send(publish('devices/p/telemetry', 'unheard', 1, 1));
    (await hooks.next()).release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    expect(routing.skipped).toBe(1);

    const sub = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'sub', reconnectPeriod: 0 });
    mqttClients.push(sub);
    await once(sub as unknown as EventEmitter, 'connect');
    await serverSides.next();
    const got = queue<string>();
    sub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await sub.subscribeAsync(['devices/#', 'control/#'], { qos: 1 });

    raw.send(publish('devices/p/telemetry', 'heard', 1, 2));
    const held = await hooks.next();
    expect(held.packet.batchedAck).toBe(true);
    // A message the broker routes now reaches the subscriber ahead of anything routed earlier.
    broker.publish(
      { cmd: 'publish', topic: 'control/mark', payload: 'mark', qos: 0, dup: false, retain: false },
      () => {},
    );
    expect(await got.next()).toBe('control/mark mark');

    held.release();
    expect(await raw.next()).toMatchObject({ cmd: 'puback', messageId: 2 });
    expect(await got.next()).toBe('devices/p/telemetry heard');
    expect(routing.skipped).toBe(1);
  });

  it('routes a QoS 0 lane message whose connection closed before the hook called back, as aedes does', async () => {
    skipUnroutedTelemetry(broker);
    const sub = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'sub0', reconnectPeriod: 0 });
    mqttClients.push(sub);
    await once(sub as unknown as EventEmitter, 'connect');
    await serverSides.next();
    const got = queue<string>();
    sub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await sub.subscribeAsync('devices/#', { qos: 0 });

    const { raw } = await connectRaw('q0');
    const disconnected = once(broker, 'clientDisconnect');
    raw.send(publish('devices/q/telemetry', 'q0', 0), { cmd: 'disconnect' });
    const held = await hooks.next();
    expect(held.packet).toMatchObject({ batchedAck: true, qos: 0 });
    await raw.closed;
    await disconnected;
    held.release();
    expect(await got.next()).toBe('devices/q/telemetry q0');
  });

  it('closes the connection without a PUBACK when the hook refuses', async () => {
    const { raw } = await connectRaw('refused');
    raw.send(publish('devices/r/telemetry', 'x', 1, 9));
    const held = await hooks.next();
    expect(held.packet.batchedAck).toBe(true);

    const clientError = once(broker, 'clientError');
    held.release(new Error('refused'));
    const [client, err] = (await clientError) as [Client, Error];
    expect(client.id).toBe('refused');
    expect(err.message).toBe('refused');
    await raw.closed;
    expect(raw.unread()).toEqual([]);
  });

  it('survives a DISCONNECT right behind a PUBLISH in the same write', async () => {
    const { raw, side } = await connectRaw('bye');
    const disconnected = once(broker, 'clientDisconnect');
    // What follows the DISCONNECT in the same read could never be acked: the lane leaves it.
    raw.send(
      publish('devices/b/telemetry', 'last', 1, 3),
      { cmd: 'disconnect' },
      publish('devices/b/telemetry', 'after', 1, 5),
    );
    const held = await hooks.next();
    expect(held.packet).toMatchObject({ batchedAck: true, messageId: 3 });
    await raw.closed;
    await disconnected;
    const writes = side.writes.length;

    // The commit lands after the close: nothing to ack to, nothing thrown.
    held.release();
    expect(lane.messages).toBe(1);

    // Bytes aedes' parser is handed after the close are not the lane's either.
    (side.client as unknown as { _parser: { parse(buf: Buffer): void } })._parser.parse(
      bytes(publish('devices/b/telemetry', 'late', 1, 4)),
    );
    expect(lane.messages).toBe(1);

    // The broker goes on serving, and the next hook call is the new client's.
    const { raw: next } = await connectRaw('next');
    next.send(publish('devices/n/telemetry', 'x', 1, 1));
    const after = await hooks.next();
    expect(after.client?.id).toBe('next');
    after.release();
    expect(await next.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    expect(side.writes.length).toBe(writes);
  });
});

describe("the lane's packet size check", () => {
  const MAX = 200;
  let broker: Aedes;
  let server: Server;
  let port: number;
  let refused: string[];
  let stored: string[];
  let dataListeners: number[];
  const sockets: Socket[] = [];

  beforeEach(async () => {
    refused = [];
    stored = [];
    dataListeners = [];
    broker = await Aedes.createBroker({
      authorizePublish: (_client, packet, callback) => {
        stored.push(Buffer.from(packet.payload).toString());
        callback(null);
      },
    });
    const lane = createPublishLane(broker);
    const guard = createConnectionGuard({
      maxConnections: 10,
      maxPacketBytes: MAX,
      onRefused: (code) => refused.push(code),
    });
    server = createServer((conn) => {
      guard.accept(conn, (c, size) => {
        const client = broker.handle(c);
        expect(lane.attach(client, size)).toBe(true);
        return client;
      });
      // The lane claimed the check: the guard put no scanner of its own on the stream.
      dataListeners.push(conn.listenerCount('data'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  const dial = async () => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    await once(socket, 'connect');
    return socket;
  };

  it('closes a connection on a header declaring too much, read byte by byte, before any body byte', async () => {
    const socket = await dial();
    const closed = once(socket, 'close');
    socket.write(bytes(connectPacket('size')));
    // 0x30: a PUBLISH; its Remaining Length starts 0xff 0xff: at least 16,384 bytes. Then the sender stalls.
    for (const b of [0x30, 0xff, 0xff]) socket.write(Buffer.from([b]));
    await closed;
    expect(refused).toEqual(['GW_ERR_PACKET_TOO_LARGE']);
    expect(dataListeners).toEqual([0]);
  });

  it('closes one on a Remaining Length of five bytes [MQTT-2.2.3], before CONNECT', async () => {
    const socket = await dial();
    const closed = once(socket, 'close');
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]));
    await closed;
    expect(refused).toEqual(['GW_ERR_PACKET_MALFORMED']);
  });

  it('counts a five-byte length that already declares too much as too large, in one read or split, as the guard did', async () => {
    const bytes5 = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    for (const split of [bytes5.length, 2]) {
      const socket = await dial();
      const closed = once(socket, 'close');
      socket.write(bytes5.subarray(0, split));
      if (split < bytes5.length) socket.write(bytes5.subarray(split));
      await closed;
    }
    expect(refused).toEqual(['GW_ERR_PACKET_TOO_LARGE', 'GW_ERR_PACKET_TOO_LARGE']);
  });

  it('takes packets up to the limit, header included, and refuses the first one byte over it', async () => {
    const socket = await dial();
    const closed = once(socket, 'close');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets = queue<Packet>();
    parser.on('packet', (p) => packets.push(p));
    socket.on('data', (d) => parser.parse(d));
    socket.write(bytes(connectPacket('edge')));
    expect(await packets.next()).toMatchObject({ cmd: 'connack' });
    // topic "devices/e/telemetry" (19 + 2 bytes) + packet id (2) + a fixed header of 3 bytes: 26 around the payload.
    const fits = publish('devices/e/telemetry', 'a'.repeat(MAX - 26), 1, 1);
    const over = publish('devices/e/telemetry', 'b'.repeat(MAX - 25), 1, 2);
    expect(mqttPacket.generate(fits).length).toBe(MAX);
    socket.write(bytes(fits));
    expect(await packets.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    socket.write(bytes(over));
    await closed;
    expect(stored).toEqual(['a'.repeat(MAX - 26)]);
    expect(refused).toEqual(['GW_ERR_PACKET_TOO_LARGE']);
    expect(packets.drain()).toEqual([]);
  });
});
