// Field notes, hostile input 7: authorization bypass through $SYS publishes,
// through the will message, and through ClientId takeover. The ACLs for
// registered devices are tested with the device registry (gateway/auth);
// this covers what holds for every client, anonymous ones on loopback included.

import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import { connectBytes, openConnected, openRaw, publishBytes } from './support/raw-connection.js';

describe('authorization bypass', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(() => rig.close());

  it('refuses a $SYS publish: no ack, connection closed', async () => {
    const c = await openConnected(rig.port, 'sys-pub');
    c.send(publishBytes('$SYS/broker/clients/connected', '0', 1, 5));
    await c.closed;
    expect(c.packets.some((p) => p.cmd === 'puback')).toBe(false);
    await rig.canary.probe();
  });

  it('never delivers a will aimed at $SYS', async () => {
    const watcher = await openConnected(rig.port, 'sys-watch');
    const subacked = watcher.next('suback');
    watcher.send(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: '$SYS/#', qos: 0 },
          { topic: 'marker', qos: 0 },
        ],
      }),
    );
    await subacked;
    const willer = await openRaw(rig.port);
    const connack = willer.next('connack').catch(() => undefined);
    willer.send(
      connectBytes('sys-will', {
        will: { topic: '$SYS/fake/alarm', payload: Buffer.from('pwned'), qos: 0, retain: false },
      }),
    );
    const ack = await connack;
    if (ack?.cmd === 'connack' && ack.returnCode === 0) {
      // An abnormal close fires the will: make the gateway close it (QoS 3).
      willer.send(Buffer.from([0x36, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x78]));
      await willer.closed;
    }
    // The will is handled while the gateway closes that connection, before
    // it reads this marker from another one; the watcher sees the marker,
    // and must have seen no $SYS/fake before it.
    const sender = await openConnected(rig.port, 'marker-sender');
    sender.send(publishBytes('marker', 'm', 0));
    // aedes' own $SYS notices may come first
    await watcher.until((p) => p.cmd === 'publish' && p.topic === 'marker');
    expect(watcher.packets.some((p) => p.cmd === 'publish' && p.topic.startsWith('$SYS/fake'))).toBe(false);
    watcher.destroy();
    sender.destroy();
  });

  it('a second connection with the same ClientId takes the session over and ends the first, without touching its data', async () => {
    const victim = await openConnected(rig.port, 'victim-1');
    const ack = victim.next('puback');
    const ts = Date.now() - 1000;
    victim.send(publishBytes('devices/victim-1/telemetry', JSON.stringify({ ts, values: { v: 1 } }), 1, 1));
    await ack;
    const intruder = await openConnected(rig.port, 'victim-1');
    // [MQTT-3.1.4-2] the broker ends the existing connection of that ClientId
    await victim.closed;
    expect(await intruder.ping()).toBe('open');
    const rows = await rig.reader().readings({ deviceId: 'victim-1', metric: 'v' });
    expect(rows).toEqual([{ ts, value: 1 }]);
    intruder.destroy();
    await rig.canary.probe();
    await rig.canary.assertStored(rig.reader());
    expect(rig.alive()).toBe(true);
  });
});
