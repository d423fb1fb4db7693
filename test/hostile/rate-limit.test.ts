// Rate limiting is backpressure, never loss (issue 13). A device over its
// budget has its acks held and its socket left unread until it is within
// budget again; everything acked is stored and nothing is dead-lettered for
// the rate. Bounded by message count, not by time: each burst is sent all at
// once and the test waits for every PUBACK.

import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import { openConnected } from './support/raw-connection.js';

/** Publishes `count` QoS 1 readings with distinct ts at once; resolves with the number of PUBACKs. */
async function burst(client: LeanPublisher, topicOf: (i: number) => string, count: number, base: number) {
  const acks = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      client.publish(topicOf(i), JSON.stringify({ ts: base + i, values: { v: i } }), 1),
    ),
  );
  return acks.filter((a) => a.status === 'fulfilled').length;
}

describe('per-device budget, default gateway', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(() => rig.close());

  // Defaults: 100 msg/s, burst 1000. 1300 each is 300 over the burst: ~3 s of held acks.
  const DEVICES = 4;
  const PER_DEVICE = 1300;

  it('holds acks over the budget and stores every acked reading; nothing dead-lettered for the rate', async () => {
    const ids = Array.from({ length: DEVICES }, (_, i) => `burster-${i}`);
    const clients = await Promise.all(
      ids.map((id) => connectLeanPublisher({ host: '127.0.0.1', port: rig.port, clientId: id })),
    );
    const base = Date.now() - 60_000;
    const started = performance.now();
    const acked = await Promise.all(
      clients.map((c, d) => burst(c, () => `devices/${ids[d]}/telemetry`, PER_DEVICE, base)),
    );
    const elapsedS = (performance.now() - started) / 1000;
    for (const c of clients) c.destroy();

    expect(acked).toEqual(ids.map(() => PER_DEVICE));
    const reader = rig.reader();
    for (const id of ids) expect(await reader.countReadings({ deviceId: id })).toBe(PER_DEVICE);
    const limited = (await rig.deadLetters()).filter((l) => l.code === 'GW_ERR_RATE_LIMITED');
    expect(limited).toHaveLength(0);
    // The budget held: 300 over the burst at 100/s cannot finish much before 3 s
    // (the burst itself takes a moment, during which the bucket refills a little).
    expect(elapsedS).toBeGreaterThan(2);
    expect(await rig.metric('gateway_rate_limit_holds_total{scope="device"}')).toBeGreaterThan(0);
    await rig.canary.probe();
    await rig.canary.assertStored(reader);
  });
});

describe('per-connection budget', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--connection-rate', '200', '--connection-burst', '100']);
  });
  afterAll(() => rig.close());

  it('bounds one anonymous client spreading a flood over many device ids, and loses nothing', async () => {
    const COUNT = 500;
    const spreader = await connectLeanPublisher({ host: '127.0.0.1', port: rig.port, clientId: 'spreader' });
    const base = Date.now() - 60_000;
    const started = performance.now();
    // a fresh device id per message: no device bucket ever runs dry
    const acked = await burst(spreader, (i) => `devices/spread-${i}/telemetry`, COUNT, base);
    const elapsedS = (performance.now() - started) / 1000;
    spreader.destroy();

    expect(acked).toBe(COUNT);
    expect(await rig.reader().countReadings()).toBeGreaterThanOrEqual(COUNT);
    expect((await rig.deadLetters()).filter((l) => l.code === 'GW_ERR_RATE_LIMITED')).toHaveLength(0);
    // 400 over the burst at 200/s
    expect(elapsedS).toBeGreaterThan(1.5);
    expect(await rig.metric('gateway_rate_limit_holds_total{scope="connection"}')).toBeGreaterThan(0);
  });

  it('stores what was held when the client went away, and acks its DUP resends on the new connection', async () => {
    // 100 pass (the burst), 60 are held for up to 60 / 200 = 0.3 s: the resends
    // arrive while the originals still wait, and fewer than the resend memory's
    // 64 per client are in flight, so it recognises every one.
    const COUNT = 160;
    const base = Date.now() - 20_000;
    const packet = (i: number, dup: boolean) =>
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'devices/quitter/telemetry',
        payload: JSON.stringify({ ts: base + i, values: { v: i } }),
        qos: 1,
        messageId: i + 1,
        retain: false,
        dup,
      });
    const first = await openConnected(rig.port, 'quitter');
    first.send(Buffer.concat(Array.from({ length: COUNT }, (_, i) => packet(i, false))));
    // The burst is acked at once; then the rest is held. Leave while it is.
    await first.until((p) => p.cmd === 'puback' && p.messageId === 50);
    first.destroy();
    await first.closed;
    const acked = new Set(first.packets.flatMap((p) => (p.cmd === 'puback' ? [p.messageId] : [])));
    expect(acked.size).toBeLessThan(COUNT);

    // [MQTT-4.4.0-1]: the client resends every unacknowledged message with DUP on reconnect
    const second = await openConnected(rig.port, 'quitter');
    const unacked = Array.from({ length: COUNT }, (_, i) => i).filter((i) => !acked.has(i + 1));
    second.send(Buffer.concat(unacked.map((i) => packet(i, true))));
    await Promise.all(unacked.map((i) => second.until((p) => p.cmd === 'puback' && p.messageId === i + 1)));
    expect(second.isClosed).toBe(false);
    second.destroy();
    expect(await rig.reader().countReadings({ deviceId: 'quitter' })).toBe(COUNT);
  });

  it('holds QoS 0 too: nothing is dropped', async () => {
    const COUNT = 300;
    const client = await connectLeanPublisher({ host: '127.0.0.1', port: rig.port, clientId: 'qos0' });
    const base = Date.now() - 30_000;
    for (let i = 0; i < COUNT; i++)
      await client.publish(
        'devices/qos0-dev/telemetry',
        JSON.stringify({ ts: base + i, values: { v: i } }),
        0,
      );
    // A QoS 1 message after them is acked once every QoS 0 one before it was let through.
    await client.publish(
      'devices/qos0-dev/telemetry',
      JSON.stringify({ ts: base + COUNT, values: { v: 0 } }),
      1,
    );
    client.destroy();
    expect(await rig.reader().countReadings({ deviceId: 'qos0-dev' })).toBe(COUNT + 1);
  });
});
