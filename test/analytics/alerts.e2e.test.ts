// Issue 12 end to end, the way a user runs it: the built gateway, a device
// that sends 60 normal readings in one message and then one far-off reading,
// a subscriber on alerts/#, and the query CLI afterwards.
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';

interface Alert {
  state: string;
  device: string;
  metric: string;
  ts: number;
  value: number;
  score: number;
  expected: [number, number];
}

describe('alerts as they happen (issue 12)', () => {
  const db = join(tempDir('gw-alerts-'), 'gateway.db');
  let gw: GatewayProcess;
  let device: MqttClient;
  let watcher: MqttClient;
  const received: Array<{ topic: string; alert: Alert; at: number }> = [];
  const waiters: Array<() => void> = [];
  const nextAlert = (n: number) =>
    new Promise<{ topic: string; alert: Alert; at: number }>((resolve) => {
      const check = () => (received.length >= n ? resolve(received[n - 1]!) : waiters.push(check));
      check();
    });

  beforeAll(async () => {
    gw = await spawnGateway(['--db', db, '--analytics', 'on', '--alert-clear-after', '3']);
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    watcher = await connectAsync(url, { clientId: 'watcher', reconnectPeriod: 0 });
    watcher.on('message', (topic, payload) => {
      received.push({ topic, alert: JSON.parse(payload.toString()) as Alert, at: performance.now() });
      for (const w of waiters.splice(0)) w();
    });
    await watcher.subscribeAsync('alerts/#', { qos: 0 });
    device = await connectAsync(url, { clientId: 'pi-7', reconnectPeriod: 0 });
  });
  afterAll(async () => {
    device?.end(true);
    watcher?.end(true);
    await gw?.stop();
  });

  it('raises an alert promptly for a far-off reading after 60 normal ones in one batch, clears it after normal ones, and the query CLI lists both', async () => {
    const t0 = Date.now() - 120_000;
    const normal = (i: number) => ({ ts: t0 + i * 1000, values: { temp: 21 + ((i * 7) % 5) * 0.05 } });
    const topic = 'devices/pi-7/telemetry';
    await device.publishAsync(topic, JSON.stringify(Array.from({ length: 60 }, (_, i) => normal(i))), {
      qos: 1,
    });

    await device.publishAsync(topic, JSON.stringify({ ts: t0 + 60_000, values: { temp: 45 } }), { qos: 1 });
    const acked = performance.now();
    const raised = await nextAlert(1);
    expect(raised.topic).toBe('alerts/pi-7');
    expect(raised.alert).toMatchObject({
      state: 'raised',
      device: 'pi-7',
      metric: 'temp',
      ts: t0 + 60_000,
      value: 45,
    });
    expect(raised.alert.expected[1]).toBeLessThan(45);
    // The issue asks for 2 s p99 under load; alone, it is far less.
    expect(raised.at - acked).toBeLessThan(2000);

    // --alert-clear-after 3: three normal readings, one a message.
    for (let i = 61; i <= 63; i++) await device.publishAsync(topic, JSON.stringify(normal(i)), { qos: 1 });
    const cleared = await nextAlert(2);
    expect(cleared.alert).toMatchObject({
      state: 'cleared',
      device: 'pi-7',
      metric: 'temp',
      ts: t0 + 63_000,
    });
    expect(received).toHaveLength(2);

    const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_alerts_total\{state="raised"\} 1$/m);
    expect(metrics).toMatch(/^gateway_alerts_total\{state="cleared"\} 1$/m);
    expect(metrics).toMatch(/^gateway_alert_delay_seconds_count 2$/m);

    const q = await runCli('cli/query-cli.js', [
      'anomalies',
      '--db',
      db,
      '--from',
      String(t0),
      '--format',
      'json',
    ]);
    expect(q.stderr).toBe('');
    expect(JSON.parse(q.stdout)).toEqual([
      expect.objectContaining({ deviceId: 'pi-7', metric: 'temp', ts: t0 + 63_000, state: 'cleared' }),
      expect.objectContaining({
        deviceId: 'pi-7',
        metric: 'temp',
        ts: t0 + 60_000,
        value: 45,
        state: 'raised',
      }),
    ]);
  });
});
