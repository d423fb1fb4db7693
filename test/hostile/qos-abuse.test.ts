// Field notes, hostile input 6: reused or duplicate packet ids, PUBACK or
// PUBREL for unknown ids, endless QoS 2 without PUBREL.

import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import { connectBytes, openConnected, openRaw, publishBytes } from './support/raw-connection.js';

const reading = (ts: number, v = 1) => JSON.stringify({ ts, values: { v } });

describe('QoS abuse', () => {
  let rig: HostileRig;
  const base = Date.now() - 30_000;
  beforeAll(async () => {
    rig = await startHostileRig(['--max-inflight-qos2', '20']);
  });
  afterAll(() => rig.close());

  const stored = async (deviceId: string) => {
    const r = rig.reader();
    return r.readings({ deviceId, metric: 'v', limit: 10_000 });
  };

  it('a packet id reused after its ack is a new message; both are stored', async () => {
    const c = await openConnected(rig.port, 'qos-reuse');
    for (const ts of [base, base + 1]) {
      const ack = c.next('puback');
      c.send(publishBytes('devices/qos-reuse/telemetry', reading(ts), 1, 7));
      expect(await ack).toMatchObject({ messageId: 7 });
    }
    expect((await stored('qos-reuse')).map((r) => r.ts)).toEqual([base, base + 1]);
    c.destroy();
  });

  it('a QoS 1 duplicate sent before the ack is acked twice and stored once', async () => {
    const c = await openConnected(rig.port, 'qos-dup1');
    const acks = Promise.all([c.next('puback'), c.next('puback')]);
    const p = publishBytes('devices/qos-dup1/telemetry', reading(base), 1, 3);
    c.send(Buffer.concat([p, patchDup(p)]));
    await acks;
    expect(await stored('qos-dup1')).toHaveLength(1);
    c.destroy();
  });

  it('a QoS 2 duplicate before PUBREL gets PUBREC again and is stored once; PUBREL completes it', async () => {
    const c = await openConnected(rig.port, 'qos-dup2');
    const recs = Promise.all([c.next('pubrec'), c.next('pubrec')]);
    const p = publishBytes('devices/qos-dup2/telemetry', reading(base), 2, 11);
    c.send(p);
    c.send(patchDup(p));
    await recs;
    const comp = c.next('pubcomp');
    c.send(mqttPacket.generate({ cmd: 'pubrel', messageId: 11 }));
    expect(await comp).toMatchObject({ messageId: 11 });
    expect(await stored('qos-dup2')).toHaveLength(1);
    c.destroy();
  });

  it('PUBACK, PUBREC and PUBCOMP for unknown ids are ignored; the connection stays', async () => {
    const c = await openConnected(rig.port, 'qos-unknown');
    c.send(mqttPacket.generate({ cmd: 'puback', messageId: 999 }));
    c.send(mqttPacket.generate({ cmd: 'pubrec', messageId: 998 }));
    c.send(mqttPacket.generate({ cmd: 'pubcomp', messageId: 997 }));
    expect(await c.ping()).toBe('open');
    c.destroy();
  });

  it('PUBREL for an unknown id gets a PUBCOMP [MQTT-4.3.3-2]; the connection stays', async () => {
    const c = await openConnected(rig.port, 'qos-pubrel');
    const comp = c.next('pubcomp');
    c.send(mqttPacket.generate({ cmd: 'pubrel', messageId: 4242 }));
    expect(await comp).toMatchObject({ messageId: 4242 });
    expect(await c.ping()).toBe('open');
    c.destroy();
  });

  it('endless QoS 2 without PUBREL: the 21st in flight closes the connection; memory per client stays capped', async () => {
    const c = await openConnected(rig.port, 'qos-endless');
    // one at a time, each PUBREC awaited, so the count is exact
    for (let id = 1; id <= 40 && !c.isClosed; id++) {
      const rec = c.next('pubrec').catch(() => undefined);
      c.send(publishBytes('devices/qos-endless/telemetry', reading(base + id), 2, id));
      await rec;
    }
    await c.closed;
    expect(c.packets.filter((p) => p.cmd === 'pubrec')).toHaveLength(20);
    expect(rig.alive()).toBe(true);
    await rig.canary.probe();
  });

  it('a will with QoS 3 [MQTT-3.1.2-14] is refused at CONNECT, and the gateway lives on', async () => {
    // The 30-minute fuzz run's finding: aedes accepted it, and publishing the
    // will when the connection dropped crashed the gateway.
    const c = await openRaw(rig.port);
    const connect = connectBytes('qos-will3', {
      will: { topic: 'devices/qos-will3/telemetry', payload: Buffer.from('{"w": 1}'), qos: 1, retain: false },
    });
    // the flags byte: fixed header (2) + protocol name (6) + level (1); will QoS bits 3-4
    connect[9] = connect[9]! | 0x18;
    const connack = c.next('connack');
    c.send(connect);
    expect(await connack).toMatchObject({ returnCode: 5 });
    await c.closed;
    expect(rig.alive()).toBe(true);
    await rig.canary.probe();
    expect(await stored('qos-will3')).toHaveLength(0);
  });

  it('QoS 1 with packet id 0 [MQTT-2.3.1-1]', async () => {
    const c = await openConnected(rig.port, 'qos-id0');
    const p = publishBytes('devices/qos-id0/telemetry', reading(base), 1, 1);
    // the packet id follows the topic: zero both of its bytes
    const at = p.indexOf('telemetry') + 'telemetry'.length;
    p[at] = 0;
    p[at + 1] = 0;
    const ack = c.next('puback');
    c.send(p);
    // aedes accepts it (recorded in docs/security.md): acked with id 0 and
    // stored like any other message; the connection stays open.
    expect(await ack).toMatchObject({ cmd: 'puback', messageId: 0 });
    expect((await stored('qos-id0')).map((r) => r.ts)).toEqual([base]);
    expect(await c.ping()).toBe('open');
    c.destroy();
    expect(rig.alive()).toBe(true);
    await rig.canary.probe();
    await rig.canary.assertStored(rig.reader());
  });
});

/** The same PUBLISH with DUP set [MQTT-3.3.1-1]. */
function patchDup(p: Buffer): Buffer {
  const out = Buffer.from(p);
  out[0] = out[0]! | 0x08;
  return out;
}
