// Routing after the ack is skipped only when nobody could receive the message:
// live subscribers, sessions queued offline and retained messages still get it.

import { type EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  filterReachesTelemetry,
  skipUnroutedTelemetry,
  type TelemetryRouting,
} from '../../gateway/telemetry-routing.js';

describe('filterReachesTelemetry', () => {
  it('knows which filters can match devices/…', () => {
    for (const f of [
      'devices/+/telemetry',
      'devices/#',
      '#',
      '+/+/telemetry',
      '$share/g/devices/+/telemetry',
      '$share/g/#',
    ])
      expect(filterReachesTelemetry(f), f).toBe(true);
    for (const f of ['alerts/#', 'tele/+/SENSOR', '$SYS/#', 'device/x', '$share/g/alerts/#', '$share/broken'])
      expect(filterReachesTelemetry(f), f).toBe(false);
  });
});

describe('skipping aedes routing for telemetry nobody subscribes to', () => {
  let broker: Aedes;
  let server: Server;
  let port: number;
  let routing: TelemetryRouting;
  const clients: MqttClient[] = [];

  const connect = async (clientId: string, clean = true) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, clean, reconnectPeriod: 0 });
    clients.push(c);
    await once(c as unknown as EventEmitter, 'connect');
    return c;
  };
  const received = (c: MqttClient) => {
    const got: string[] = [];
    c.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    return got;
  };

  beforeEach(async () => {
    broker = await Aedes.createBroker();
    routing = skipUnroutedTelemetry(broker);
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  it('skips with no subscriber, routes to a live one, skips again once it is gone', async () => {
    const pub = await connect('pub');
    await pub.publishAsync('devices/a/telemetry', '1', { qos: 1 });
    expect(routing.skipped).toBe(1);

    const sub = await connect('sub');
    const got = received(sub);
    await sub.subscribeAsync('devices/+/telemetry', { qos: 1 });
    expect(routing.subscribers).toBe(1);
    const delivered = once(sub as unknown as EventEmitter, 'message');
    await pub.publishAsync('devices/a/telemetry', '2', { qos: 1 });
    await delivered;
    expect(got).toEqual(['devices/a/telemetry 2']);
    expect(routing.skipped).toBe(1);

    await sub.unsubscribeAsync('devices/+/telemetry');
    expect(routing.subscribers).toBe(0);
    await pub.publishAsync('devices/a/telemetry', '3', { qos: 1 });
    expect(routing.skipped).toBe(2);

    // A subscriber that disconnects without unsubscribing is uncounted too.
    const other = await connect('other');
    await other.subscribeAsync('#', { qos: 0 });
    expect(routing.subscribers).toBe(1);
    await other.endAsync();
    await new Promise<void>((resolve) => {
      const check = () => (routing.subscribers === 0 ? resolve() : setImmediate(check));
      check();
    });
    await pub.publishAsync('devices/a/telemetry', '4', { qos: 1 });
    expect(routing.skipped).toBe(3);
    expect(got).toEqual(['devices/a/telemetry 2']);
  });

  it('keeps routing for a persistent session while it is offline, and it gets the message on return', async () => {
    const pub = await connect('pub');
    const away = await connect('away', false);
    await away.subscribeAsync('devices/#', { qos: 1 });
    await away.endAsync();
    expect(routing.subscribers).toBeGreaterThan(0);
    await pub.publishAsync('devices/a/telemetry', 'queued', { qos: 1 });
    expect(routing.skipped).toBe(0);

    const back = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: 'away',
      clean: false,
      reconnectPeriod: 0,
    });
    clients.push(back);
    const [topic, payload] = (await once(back as unknown as EventEmitter, 'message')) as [string, Buffer];
    expect(`${topic} ${payload.toString()}`).toBe('devices/a/telemetry queued');
  });

  it('routes a retained telemetry message, so a later subscriber gets it', async () => {
    const pub = await connect('pub');
    await pub.publishAsync('devices/a/telemetry', 'kept', { qos: 1, retain: true });
    expect(routing.skipped).toBe(0);
    const sub = await connect('late');
    const message = once(sub as unknown as EventEmitter, 'message');
    await sub.subscribeAsync('devices/a/telemetry', { qos: 1 });
    const [topic, payload] = (await message) as [string, Buffer];
    expect(`${topic} ${payload.toString()}`).toBe('devices/a/telemetry kept');
  });

  it('still routes topics outside devices/', async () => {
    const pub = await connect('pub');
    const sub = await connect('sub');
    await sub.subscribeAsync('alerts/#', { qos: 1 });
    const message = once(sub as unknown as EventEmitter, 'message');
    await pub.publishAsync('alerts/a', 'x', { qos: 1 });
    await message;
    expect(routing.skipped).toBe(0);
  });
});
