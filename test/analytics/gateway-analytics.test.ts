// The analytics as wired in the gateway: readings published over MQTT reach
// the 1m and 1h tiers and the anomaly table, the spike is published on
// alerts/{deviceId}, and gateway.query answers while the gateway runs.
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { startInProcessGateway } from '../support/in-process-gateway.js';

describe('gateway analytics', () => {
  it('rolls up, detects and publishes a spike, and answers queries off the main thread', async () => {
    const gw = await startInProcessGateway();
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.gateway.mqtt.port}`, {
      clientId: 'watcher',
      reconnectPeriod: 0,
    });
    try {
      await client.subscribeAsync('alerts/#', { qos: 0 });
      const alert = new Promise<{ topic: string; body: Record<string, unknown> }>((resolve) =>
        client.once('message', (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) })),
      );
      // One minute of readings: all in the minute now open, so none of them is late.
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      const readings = Array.from({ length: 45 }, (_, i) => ({
        ts: minute + i,
        values: { temp: i === 40 ? 60 : 21 + (i % 5) * 0.1 },
      }));
      await client.publishAsync('devices/pi-9/telemetry', JSON.stringify(readings), { qos: 1 });

      // Acked, so committed: the query pool sees it on its own read-only connection.
      expect(await gw.gateway.query.latest('pi-9')).toEqual([
        { metric: 'temp', ts: minute + 44, value: 21.4 },
      ]);
      expect((await gw.gateway.query.devices()).map((d) => d.deviceId)).toContain('pi-9');

      // Shutdown closes the open minute: rollups written, the alert published before the broker goes.
      await gw.gateway.close();
      expect(await alert).toEqual({
        topic: 'alerts/pi-9',
        body: {
          device: 'pi-9',
          metric: 'temp',
          ts: minute + 40,
          value: 60,
          score: expect.any(Number),
          expected: [expect.any(Number), expect.any(Number)],
        },
      });
    } finally {
      client.end(true);
      await gw.close();
    }

    const query = openSqliteQueryService({ path: gw.db });
    try {
      const q = {
        device: 'pi-*',
        metric: 'temp',
        from: 0,
        to: Date.now() + 60_000,
        aggs: ['count', 'max'] as const,
      };
      expect(await query.series({ ...q, bucketMs: 60_000 })).toMatchObject({
        tier: '1m',
        devices: 1,
        points: [{ bucketStart: expect.any(Number), values: { count: 45, max: 60 } }],
      });
      expect((await query.series({ ...q, bucketMs: 3_600_000 })).tier).toBe('1h');
      expect(await query.anomalies({ from: 0 })).toMatchObject([
        { deviceId: 'pi-9', metric: 'temp', value: 60 },
      ]);
    } finally {
      await query.close();
    }
  });
});
