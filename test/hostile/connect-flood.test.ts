// Field notes, hostile input 2: many sockets that never send CONNECT, or
// send it slowly; and the connection cap over all of them.

import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import { connectBytes, openRaw } from './support/raw-connection.js';

const SOCKETS = 3000;

function openSilent(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('sockets that never send CONNECT', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--connect-timeout-ms', '1000']);
  });
  afterAll(() => rig.close());

  it(`closes all ${SOCKETS} after the connect timeout, round after round, with RSS back at its baseline and the canary served throughout`, async () => {
    const flood = async () => {
      const silent: Array<{ socket: Socket; closed: Promise<void> }> = [];
      // a bounded ramp: 300 at a time, as the field notes ask of any herd
      for (let i = 0; i < SOCKETS; i += 300) {
        silent.push(...(await Promise.all(Array.from({ length: 300 }, () => openSilent(rig.port)))));
        await rig.canary.probe();
      }
      const peak = rig.rssKb();
      await Promise.all(silent.map((s) => s.closed));
      await rig.canary.probe();
      return peak;
    };
    const cold = await rig.collectedRssKb();
    // The first flood sets the allocator's high-water mark (glibc keeps freed
    // arenas); what must not happen is growth from one flood to the next.
    await flood();
    const baseline = await rig.collectedRssKb();
    const peak = await flood();
    const after = await rig.collectedRssKb();
    console.log(
      `connect flood: RSS cold ${cold} kB, after a first flood ${baseline} kB, peak ${peak} kB, after the second flood ${after} kB`,
    );
    expect(rig.alive()).toBe(true);
    expect(after - baseline).toBeLessThan(10_000);
    await rig.canary.assertStored(rig.reader());
  });

  it('closes a CONNECT sent half-way and then stalled (slowloris), and one dribbled byte by byte', async () => {
    const half = await openRaw(rig.port);
    const bytes = connectBytes('slow-half');
    half.send(bytes.subarray(0, 6));
    const dribble = await openRaw(rig.port);
    const slow = connectBytes('slow-dribble');
    // one byte per canary round trip: far slower than the 1 s timeout allows in total
    let i = 0;
    while (!dribble.isClosed && i < slow.length - 1) {
      dribble.send(slow.subarray(i, i + 1));
      i++;
      await rig.canary.probe();
      if (i % 5 === 0) await Promise.race([dribble.closed, half.closed]);
    }
    await half.closed;
    await dribble.closed;
    expect(dribble.packets).toEqual([]);
    expect(rig.alive()).toBe(true);
  });
});

describe('the connection cap', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--max-connections', '50']);
  });
  afterAll(() => rig.close());

  it('closes connections over --max-connections at once and serves those within it', async () => {
    // the canary already holds one of the 50
    const conns = await Promise.all(Array.from({ length: 100 }, () => openRaw(rig.port)));
    let closedCount = 0;
    await new Promise<void>((resolve) => {
      for (const c of conns)
        c.closed.then(() => {
          if (++closedCount === 51) resolve();
        });
    });
    const open = conns.filter((c) => !c.isClosed);
    expect(open).toHaveLength(49);
    const acks = await Promise.all(
      open.map((c, i) => {
        const ack = c.next('connack');
        c.send(connectBytes(`capped-${i}`));
        return ack;
      }),
    );
    expect(acks.every((p) => p.cmd === 'connack' && p.returnCode === 0)).toBe(true);
    expect(await rig.metric('gateway_limit_events_total{code="GW_ERR_TOO_MANY_CONNECTIONS"}')).toBe(51);
    await rig.canary.probe();
    // DISCONNECT: the gateway closes its side first [MQTT-3.14.4-1], so the
    // slot is free before this side sees the close.
    for (const c of open) c.send(mqttPacket.generate({ cmd: 'disconnect' }));
    await Promise.all(open.map((c) => c.closed));
    // slots come back when connections close
    const again = await openRaw(rig.port);
    const ack = again.next('connack');
    again.send(connectBytes('after-cap'));
    expect(await ack).toMatchObject({ returnCode: 0 });
    expect(rig.alive()).toBe(true);
  });
});
