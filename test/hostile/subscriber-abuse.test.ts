// Field notes, hostile input 8: subscription floods, and subscribers that
// never read. Before the slow-subscriber guard, one `#` subscriber that
// stopped reading froze every publisher for the whole drain timeout.

import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import { openConnected, publishBytes } from './support/raw-connection.js';

const DRAIN_TIMEOUT_MS = 2000;

describe('subscriber abuse', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig([
      '--max-subscriptions-per-client',
      '100',
      '--drain-timeout-ms',
      String(DRAIN_TIMEOUT_MS),
    ]);
  });
  afterAll(() => rig.close());

  it('grants 100 subscriptions per client and refuses the rest with 0x80; the connection stays', async () => {
    const c = await openConnected(rig.port, 'sub-flood');
    const first = c.next('suback');
    c.send(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: Array.from({ length: 300 }, (_, i) => ({ topic: `flood/${i}`, qos: 0 as const })),
      }),
    );
    const a = await first;
    const granted = a.cmd === 'suback' ? a.granted : [];
    expect(granted.filter((g) => g !== 128)).toHaveLength(100);
    expect(granted.filter((g) => g === 128)).toHaveLength(200);
    for (let m = 2; m < 12; m++) {
      const next = c.next('suback');
      c.send(
        mqttPacket.generate({
          cmd: 'subscribe',
          messageId: m,
          subscriptions: [{ topic: `more/${m}`, qos: 0 }],
        }),
      );
      expect(await next).toMatchObject({ granted: [128] });
    }
    // a filter it already holds is still granted (a resubscribe replaces it)
    const again = c.next('suback');
    c.send(
      mqttPacket.generate({ cmd: 'subscribe', messageId: 20, subscriptions: [{ topic: 'flood/0', qos: 1 }] }),
    );
    expect(await again).toMatchObject({ granted: [1] });
    expect(await c.ping()).toBe('open');
    expect(await rig.metric('gateway_limit_events_total{code="GW_ERR_TOO_MANY_SUBSCRIPTIONS"}')).toBe(210);
    c.destroy();
  });

  it('a # subscriber that never reads neither stalls the canary nor survives the drain timeout', async () => {
    const stuck = await openConnected(rig.port, 'never-reads');
    const subacked = stuck.next('suback');
    stuck.send(
      mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] }),
    );
    await subacked;
    stuck.socket.pause();
    const flooder = await openConnected(rig.port, 'flooder');
    const payload = Buffer.alloc(4096, 0x61);
    const latencies: number[] = [];
    const clients = await rig.metric('gateway_connected_clients');
    // Rounds of 256 KB, a canary probe after each, until the gateway gives up
    // on the subscriber (bounded by the test timeout). A paused socket cannot
    // see its own close, so the gateway's client count tells.
    while ((await rig.metric('gateway_connected_clients')) === clients) {
      for (let i = 0; i < 64; i++) flooder.send(publishBytes('flood/data', payload, 0));
      latencies.push(await rig.canary.probe());
    }
    stuck.socket.resume();
    await stuck.closed;
    const max = Math.max(...latencies);
    console.log(
      `never-reading subscriber: ${latencies.length} canary probes during the flood, max ack latency ${max.toFixed(1)} ms`,
    );
    expect(max).toBeLessThan(DRAIN_TIMEOUT_MS / 2);
    expect(await rig.metric('gateway_limit_events_total{code="GW_ERR_SUBSCRIBER_SLOW"}')).toBeGreaterThan(0);
    expect(
      await rig.metric('gateway_limit_events_total{code="GW_ERR_SUBSCRIBER_STALLED"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(rig.alive()).toBe(true);
    flooder.destroy();
    await rig.canary.assertStored(rig.reader());
  });
});
