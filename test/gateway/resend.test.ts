import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectionMemo } from '../../gateway/connection-memo.js';
import { createResendMemory, type ResendMemory } from '../../gateway/resend-memory.js';
import { connectBytes } from '../hostile/support/raw-connection.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

/** A raw MQTT 3.1.1 connection that sends exactly the packets a test writes, DUP flags included. */
async function rawClient(port: number, clientId: string) {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const waiters: Array<{
    match: (p: mqttPacket.Packet) => boolean;
    resolve: (p: mqttPacket.Packet) => void;
  }> = [];
  parser.on('packet', (p) => {
    const i = waiters.findIndex((w) => w.match(p));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(p);
    else packets.push(p);
  });
  socket.on('data', (d) => parser.parse(d));
  await once(socket, 'connect');
  const next = (match: (p: mqttPacket.Packet) => boolean) => {
    const found = packets.find(match);
    if (found !== undefined) {
      packets.splice(packets.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise<mqttPacket.Packet>((resolve) => waiters.push({ match, resolve }));
  };
  socket.write(connectBytes(clientId));
  await next((p) => p.cmd === 'connack');
  return {
    send: (packet: mqttPacket.Packet) => socket.write(mqttPacket.generate(packet)),
    next,
    close: () => socket.destroy(),
  };
}

const publish = (
  topic: string,
  payload: string,
  qos: 1 | 2,
  messageId: number,
  dup: boolean,
): mqttPacket.IPublishPacket => ({
  cmd: 'publish',
  topic,
  payload,
  qos,
  messageId,
  dup,
  retain: false,
});

describe('a resent PUBLISH is acknowledged, not stored twice', () => {
  let gw: InProcessGateway;
  beforeAll(async () => {
    gw = await startInProcessGateway();
  });
  afterAll(async () => gw.close());

  const count = async (deviceId: string) => {
    const reader = gw.reader();
    try {
      return {
        readings: await reader.countReadings({ deviceId }),
        deadLetters: (await reader.deadLetters({ deviceId })).length,
      };
    } finally {
      await reader.close();
    }
  };

  it('QoS 1 without ts: the DUP resend after a lost PUBACK, on a new connection', async () => {
    const first = await rawClient(gw.gateway.mqtt.port, 'resend-q1');
    first.send(publish('devices/resend-q1/telemetry/pressure', '1013.2', 1, 7, false));
    await first.next((p) => p.cmd === 'puback' && p.messageId === 7);
    first.close(); // as if that PUBACK never reached the device
    const again = await rawClient(gw.gateway.mqtt.port, 'resend-q1');
    again.send(publish('devices/resend-q1/telemetry/pressure', '1013.2', 1, 7, true));
    await again.next((p) => p.cmd === 'puback' && p.messageId === 7);
    again.close();
    expect(await count('resend-q1')).toEqual({ readings: 1, deadLetters: 0 });
  });

  it('QoS 1: a resend that arrives while the original is still being committed waits for it', async () => {
    const c = await rawClient(gw.gateway.mqtt.port, 'resend-pending');
    c.send(publish('devices/resend-pending/telemetry', '{"t": 1, "bad": "x"}', 1, 9, false));
    c.send(publish('devices/resend-pending/telemetry', '{"t": 1, "bad": "x"}', 1, 9, true));
    await c.next((p) => p.cmd === 'puback' && p.messageId === 9);
    await c.next((p) => p.cmd === 'puback' && p.messageId === 9);
    c.close();
    // One reading and one dead letter (for "bad"), not two of each.
    expect(await count('resend-pending')).toEqual({ readings: 1, deadLetters: 1 });
  });

  it('QoS 2: a DUP PUBLISH before PUBREL gets PUBREC again and stores nothing more', async () => {
    const c = await rawClient(gw.gateway.mqtt.port, 'resend-q2');
    c.send(publish('devices/resend-q2/telemetry', '{"t": 2}', 2, 11, false));
    await c.next((p) => p.cmd === 'pubrec' && p.messageId === 11);
    c.send(publish('devices/resend-q2/telemetry', '{"t": 2}', 2, 11, true));
    await c.next((p) => p.cmd === 'pubrec' && p.messageId === 11);
    c.send({ cmd: 'pubrel', messageId: 11 });
    await c.next((p) => p.cmd === 'pubcomp' && p.messageId === 11);
    c.close();
    expect(await count('resend-q2')).toEqual({ readings: 1, deadLetters: 0 });
  });

  it('a reused packet id with other content, or without DUP, is a new message', async () => {
    const c = await rawClient(gw.gateway.mqtt.port, 'resend-new');
    c.send(publish('devices/resend-new/telemetry/t', '1', 1, 5, false));
    await c.next((p) => p.cmd === 'puback' && p.messageId === 5);
    c.send(publish('devices/resend-new/telemetry/u', '2', 1, 5, true)); // DUP, but not the same message
    await c.next((p) => p.cmd === 'puback' && p.messageId === 5);
    c.close();
    const reader = gw.reader();
    try {
      expect(await reader.readings({ deviceId: 'resend-new', metric: 't' })).toHaveLength(1);
      expect(await reader.readings({ deviceId: 'resend-new', metric: 'u' })).toHaveLength(1);
    } finally {
      await reader.close();
    }
  });
});

type AdmitArgs = Parameters<ResendMemory['admitInto']> extends [unknown, ...infer Rest] ? Rest : never;

/** admitInto with a ticket of its own, and the decision's outcome reported through it, as the held message does. */
function admitting(memory: ResendMemory) {
  return (...args: AdmitArgs) => {
    const ticket = { resendRing: undefined, resendSlot: -1, resendGeneration: 0 };
    const d = memory.admitInto(ticket, ...args);
    return {
      ...d,
      receivedAt: d.kind === 'retry' ? d.receivedAt : args[5],
      settled: (err?: Error) => memory.settle(ticket, err),
    };
  };
}

describe('createResendMemory', () => {
  const payload = Buffer.from('{"t":1}');

  /**
   * c and b arrive at 0, c is used again at `again`, then a arrives and one of c
   * and b must go (maxClients 2). Each admit through a hold of its client's, or
   * none. Returns whether a client's message is still remembered.
   */
  function usedAgainAt(again: number, withHolds: boolean) {
    const memory = createResendMemory({ perClient: 2, maxClients: 2 });
    const admit = admitting(memory);
    const holds = new Map([...'abc'].map((c) => [c, createConnectionMemo()]));
    const holdOf = (client: string) => (withHolds ? holds.get(client) : undefined);
    for (const [client, now] of [
      ['c', 0],
      ['b', 0],
      ['c', again],
      ['a', again],
    ] as const) {
      const d = admit(client, 1, false, 't', payload, now, holdOf(client));
      if (d.kind === 'new') d.settled();
    }
    // A DUP that is not remembered is remembered from then on: ask for the kept one first.
    return (client: string) =>
      admit(client, 1, true, 't', payload, again + 100, holdOf(client)).kind === 'committed';
  }

  it('settles a pending resend with the original outcome, and retries a failed one at the original time', () => {
    const memory = createResendMemory({ perClient: 4, maxClients: 10 });
    const admit = admitting(memory);
    const first = admit('c', 1, false, 'devices/d/telemetry', payload, 100);
    expect(first).toMatchObject({ kind: 'new', receivedAt: 100 });
    const dup = admit('c', 1, true, 'devices/d/telemetry', payload, 200);
    expect(dup.kind).toBe('pending');
    const outcomes: Array<Error | undefined> = [];
    if (dup.kind === 'pending') dup.wait((err) => outcomes.push(err));
    if (first.kind === 'new') first.settled(new Error('disk full'));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.message).toBe('disk full');
    const retry = admit('c', 1, true, 'devices/d/telemetry', payload, 300);
    expect(retry).toMatchObject({ kind: 'retry', receivedAt: 100 });
    if (retry.kind === 'retry') retry.settled();
    expect(admit('c', 1, true, 'devices/d/telemetry', payload, 400).kind).toBe('committed');
  });

  it('matches a DUP against the newest message with its packet id, and an older one still settles its waiters', () => {
    const memory = createResendMemory({ perClient: 4, maxClients: 10 });
    const admit = admitting(memory);
    const a = Buffer.from('{"t":1}');
    const b = Buffer.from('{"t":2}');
    const first = admit('c', 7, false, 't', a, 1);
    const waiting = admit('c', 7, true, 't', a, 2);
    expect(waiting.kind).toBe('pending');
    const outcomes: Array<Error | undefined> = [];
    if (waiting.kind === 'pending') waiting.wait((err) => outcomes.push(err));
    // The same id again without DUP (a clean session after a reconnect): a new message.
    const second = admit('c', 7, false, 't', b, 3);
    expect(second.kind).toBe('new');
    // Its DUP waits for it, not for the first; the first's content is no resend any more.
    expect(admit('c', 7, true, 't', b, 4).kind).toBe('pending');
    expect(admit('c', 7, true, 't', a, 5).kind).toBe('new');
    // The first still answers the resend that waited for it.
    if (first.kind === 'new') first.settled();
    expect(outcomes).toEqual([undefined]);
  });

  it('forgets the oldest packet ids of a client and the least recently seen clients', () => {
    const memory = createResendMemory({ perClient: 2, maxClients: 2 });
    const admit = admitting(memory);
    for (const id of [1, 2, 3]) {
      const d = admit('c', id, false, 't', payload, id);
      if (d.kind === 'new') d.settled();
    }
    expect(admit('c', 1, true, 't', payload, 9).kind).toBe('new');
    admit('b', 1, false, 't', payload, 1);
    admit('a', 1, false, 't', payload, 1);
    expect(memory.clients).toBe(2);
  });

  it("finds a client's ring through its connection's hold, and keeps the LRU order as without one", () => {
    // The same sequence as the test below, with every admit through a hold per client.
    const later = usedAgainAt(1500, true);
    expect([later('c'), later('b')]).toEqual([true, false]);
    const sooner = usedAgainAt(500, true);
    expect([sooner('b'), sooner('c')]).toEqual([true, false]);
  });

  it("notes a message in the caller's ticket; a ticket whose slot was reused since settles nothing", () => {
    const memory = createResendMemory({ perClient: 2, maxClients: 10 });
    const ticket = () => ({ resendRing: undefined, resendSlot: -1, resendGeneration: 0 });
    const first = ticket();
    expect(memory.admitInto(first, 'c', 1, false, 't', payload, 0)).toEqual({ kind: 'new' });
    const outcomes: Array<Error | undefined> = [];
    const dup = memory.admitInto(ticket(), 'c', 1, true, 't', payload, 1);
    expect(dup.kind).toBe('pending');
    if (dup.kind === 'pending') dup.wait((err) => outcomes.push(err));
    // Two more messages take both slots: the first's slot is reused, its waiter with it.
    const second = ticket();
    memory.admitInto(second, 'c', 2, false, 't', payload, 2);
    const third = ticket();
    memory.admitInto(third, 'c', 3, false, 't', payload, 3);
    memory.settle(first, new Error('late'));
    expect(outcomes).toEqual([]);
    // The reused slot belongs to message 3: its state is its own.
    expect(memory.admitInto(ticket(), 'c', 3, true, 't', payload, 4).kind).toBe('pending');
    memory.settle(third);
    memory.settle(third, new Error('twice'));
    expect(memory.admitInto(ticket(), 'c', 3, true, 't', payload, 5).kind).toBe('committed');
    expect(outcomes).toEqual([]);
  });

  it('does not carry a hold over to another ClientId', () => {
    const memory = createResendMemory({ perClient: 4, maxClients: 10 });
    const admit = admitting(memory);
    const hold = createConnectionMemo();
    const first = admit('x', 1, false, 't', payload, 0, hold);
    if (first.kind === 'new') first.settled();
    // The same hold, another ClientId (a takeover by a different client on a reused memo must not share x's ring).
    expect(admit('y', 1, true, 't', payload, 10, hold).kind).toBe('new');
    expect(admit('x', 1, true, 't', payload, 20, hold).kind).toBe('committed');
    expect(memory.clients).toBe(2);
  });

  it('keeps the clients used in the last second over ones idle longer, to the second', () => {
    // Used again 1.5 s later, c is the more recent: b goes.
    const later = usedAgainAt(1500, false);
    expect([later('c'), later('b')]).toEqual([true, false]);
    // Within the same second the order is not refreshed: c, first in, goes first.
    const sameSecond = usedAgainAt(500, false);
    expect([sameSecond('b'), sameSecond('c')]).toEqual([true, false]);
  });
});
