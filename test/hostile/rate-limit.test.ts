// The per-device token bucket end to end: the excess is acked (the device
// must not resend it forever), refused, counted and dead-lettered with its own code.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLeanPublisher } from '../../simulators/lean-publisher.js';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';

describe('per-device message rate', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--device-rate', '10', '--device-burst', '20']);
  });
  afterAll(() => rig.close());

  it('acks every message, stores the burst, dead-letters the excess as GW_ERR_RATE_LIMITED', async () => {
    const flooder = await connectLeanPublisher({ host: '127.0.0.1', port: rig.port, clientId: 'flooder' });
    const base = Date.now() - 10_000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        flooder.publish('devices/flooder/telemetry', JSON.stringify({ ts: base + i, values: { v: i } }), 1),
      ),
    );
    const elapsedS = (performance.now() - started) / 1000;
    flooder.destroy();
    const stored = await rig.reader().countReadings({ deviceId: 'flooder' });
    const limited = (await rig.deadLetters()).filter(
      (l) => l.deviceId === 'flooder' && l.code === 'GW_ERR_RATE_LIMITED',
    );
    expect(stored + limited.length).toBe(200);
    expect(stored).toBeGreaterThanOrEqual(20);
    expect(stored).toBeLessThanOrEqual(20 + Math.ceil(elapsedS * 10) + 1);
    expect(await rig.metric('gateway_rejections_total{code="GW_ERR_RATE_LIMITED"}')).toBe(limited.length);
    // another device has its own bucket
    await rig.canary.probe();
    await rig.canary.assertStored(rig.reader());
  });
});
