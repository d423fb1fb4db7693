// The analytics as wired in the gateway: readings published over MQTT are
// scored as their batch commits, the spike is stored in the anomaly table and
// published on alerts/{deviceId} while the gateway runs, and gateway.query
// answers off the main thread.
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { startInProcessGateway } from '../support/in-process-gateway.js';

describe('gateway analytics', () => {
  it('detects, stores and publishes a spike as it commits, and answers queries off the main thread', async () => {
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
      // One message of readings, all in the minute now open.
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

      // Scored as the batch committed: the alert comes without a shutdown.
      expect(await alert).toEqual({
        topic: 'alerts/pi-9',
        body: {
          state: 'raised',
          device: 'pi-9',
          metric: 'temp',
          ts: minute + 40,
          value: 60,
          score: expect.any(Number),
          expected: [expect.any(Number), expect.any(Number)],
        },
      });
      // Stored before it was published.
      expect(await gw.gateway.query.anomalies({ from: 0 })).toMatchObject([
        { deviceId: 'pi-9', metric: 'temp', ts: minute + 40, value: 60, state: 'raised' },
      ]);
      await gw.gateway.close();
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
        { deviceId: 'pi-9', metric: 'temp', value: 60, state: 'raised' },
      ]);
    } finally {
      await query.close();
    }
  });
});
