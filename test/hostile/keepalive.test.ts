// MQTT keepalive 0 turns the mechanism off [MQTT-3.1.2.10]; Mosquitto and
// HiveMQ accept it, and so does the gateway by default. Half-open sockets are
// reaped by TCP keepalive instead; --keepalive-limit-s is an opt-in maximum.
// (mosquitto_pub 2.0 itself refuses -k 0 below 5 s, so mqtt.js is the client here.)

import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createConnectionGuard } from '../../gateway/limits/connection-guard.js';
import { rawConnack } from '../security/secure-gateway.js';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';

describe('keepalive 0, default gateway', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(() => rig.close());

  it('serves an mqtt.js client with keepalive 0 and stores its QoS 1 reading', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${rig.port}`, {
      keepalive: 0,
      clientId: 'ka0-mqttjs',
      reconnectPeriod: 0,
    });
    const ts = Date.now() - 4_000;
    await client.publishAsync('devices/ka0-js/telemetry', JSON.stringify({ ts, values: { t: 1 } }), {
      qos: 1,
    });
    await client.endAsync();
    expect(await rig.reader().countReadings({ deviceId: 'ka0-js' })).toBe(1);
  });

  it('answers CONNACK 0 to keepalive 0 and to a keepalive of a day', async () => {
    expect(await rawConnack(rig.port, { clientId: 'ka-zero', keepalive: 0 })).toBe(0);
    expect(await rawConnack(rig.port, { clientId: 'ka-day', keepalive: 65_535 })).toBe(0);
  });
});

describe('--keepalive-limit-s, opt-in', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig(['--keepalive-limit-s', '60']);
  });
  afterAll(() => rig.close());

  it('refuses keepalive 0 and keepalives over the limit with CONNACK 6, and admits the rest', async () => {
    expect(await rawConnack(rig.port, { clientId: 'ka-zero', keepalive: 0 })).toBe(6);
    expect(await rawConnack(rig.port, { clientId: 'ka-long', keepalive: 61 })).toBe(6);
    expect(await rawConnack(rig.port, { clientId: 'ka-ok', keepalive: 60 })).toBe(0);
  });
});

describe('TCP keepalive on accepted sockets', () => {
  it('is switched on with the configured idle time, and not when it is 0', () => {
    const onGuard = createConnectionGuard({
      maxConnections: 10,
      maxPacketBytes: 1000,
      tcpKeepaliveMs: 45_000,
      onRefused: () => {},
    });
    const socket = new Socket();
    const spy = vi.spyOn(socket, 'setKeepAlive');
    onGuard.accept(socket, () => {});
    expect(spy).toHaveBeenCalledWith(true, 45_000);
    socket.destroy();

    const offGuard = createConnectionGuard({ maxConnections: 10, maxPacketBytes: 1000, onRefused: () => {} });
    const other = new Socket();
    const otherSpy = vi.spyOn(other, 'setKeepAlive');
    offGuard.accept(other, () => {});
    expect(otherSpy).not.toHaveBeenCalled();
    other.destroy();
    // a stream that is not a socket (WebSocket) is left alone here: its listener sets it on the HTTP socket
    expect(onGuard.accept(new PassThrough(), () => {})).toBe(true);
  });
});
