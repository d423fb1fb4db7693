// Authentication and ACLs through the real broker and pipeline, with mqtt.js
// and raw packets. Each refusal is checked where the client sees it (CONNACK
// code, SUBACK 0x80, a closed connection) and where the data would land
// (nothing stored).

import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closed,
  connackCode,
  connectClient,
  rawConnack,
  type SecureGateway,
  startSecureGateway,
} from './secure-gateway.js';

const DEVICES = [{ id: 'alpha' }, { id: 'beta' }, { id: 'gamma', metrics: ['temperature'] }, { id: 'rot' }];

describe('device authentication and ACLs (loopback gateway, anonymous allowed)', () => {
  let gw: SecureGateway & { tokens: Map<string, string> };
  let url: string;
  const creds = (id: string, clientId = id) => ({
    clientId,
    username: id,
    password: gw.tokens.get(id)!,
  });
  const readings = async (deviceId: string) => {
    const reader = gw.reader();
    try {
      return await reader.countReadings({ deviceId });
    } finally {
      await reader.close();
    }
  };

  beforeAll(async () => {
    gw = await startSecureGateway({}, DEVICES);
    url = `mqtt://127.0.0.1:${gw.gateway.mqtt.port}`;
  });
  afterAll(() => gw.close());

  it('accepts a registered device and stores what it publishes under its own prefix', async () => {
    const client = await connectClient(url, creds('alpha'));
    await client.publishAsync('devices/alpha/telemetry', JSON.stringify({ temperature: 21.5 }), { qos: 1 });
    await client.endAsync();
    expect(await readings('alpha')).toBe(1);
  });

  it('refuses an unknown device, a wrong token and a missing password with CONNACK 4', async () => {
    expect(await connackCode(url, { clientId: 'ghost', username: 'ghost', password: 'x' })).toBe(4);
    expect(await connackCode(url, { ...creds('alpha'), password: `${gw.tokens.get('alpha')}x` })).toBe(4);
    expect(await connackCode(url, { clientId: 'alpha', username: 'alpha' })).toBe(4);
    // beta's token does not open alpha
    expect(await connackCode(url, { ...creds('alpha'), password: gw.tokens.get('beta')! })).toBe(4);
  });

  it('never writes a token to the log, refused or accepted', async () => {
    expect(await connackCode(url, { ...creds('alpha'), password: 'a-wrong-token-value' })).toBe(4);
    const text = gw.logText();
    expect(text).toContain('connect refused');
    expect(text).not.toContain('a-wrong-token-value');
    for (const token of gw.tokens.values()) expect(text).not.toContain(token);
  });

  it('closes the connection, without an ack, on a publish outside the device prefix; nothing is stored', async () => {
    const client = await connectClient(url, creds('alpha'));
    let acked = false;
    const gone = closed(client);
    client.publish('devices/beta/telemetry', JSON.stringify({ temperature: 99 }), { qos: 1 }, (err) => {
      if (err === undefined) acked = true;
    });
    await gone;
    expect(acked).toBe(false);
    client.end(true);
    expect(await readings('beta')).toBe(0);
    expect(gw.logs.some((l) => l.msg === 'publish refused' && l.code === 'GW_ERR_ACL_PUBLISH')).toBe(true);
  });

  it('refuses $SYS publishes from devices and anonymous clients alike', async () => {
    for (const opts of [creds('alpha'), { clientId: 'anon-sys' }]) {
      const client = await connectClient(url, opts);
      const gone = closed(client);
      client.publish('$SYS/broker/fake', 'x', { qos: 1 });
      await gone;
      client.end(true);
    }
    expect(gw.logs.filter((l) => l.code === 'GW_ERR_SYS_TOPIC').length).toBe(2);
  });

  it('answers SUBACK 0x80 to another device’s topics and grants its own, on one live session', async () => {
    const client = await connectClient(url, creds('alpha'));
    // mqtt.js rejects when any filter is refused; the SUBACK rides on the error.
    const refused = await client
      .subscribeAsync(
        ['devices/beta/#', 'devices/+/telemetry', '#', 'alerts/beta', 'alerts/alpha', 'devices/alpha/#'],
        { qos: 1 },
      )
      .then(
        () => undefined,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
      );
    expect(refused).toEqual([128, 128, 128, 128, 1, 1]);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('refuses a will aimed at another device with CONNACK 5; nothing is stored', async () => {
    const will = {
      topic: 'devices/beta/telemetry',
      payload: Buffer.from('{"temperature": 1}'),
      qos: 1 as const,
    };
    expect(await connackCode(url, { ...creds('alpha'), will })).toBe(5);
    expect(await connackCode(url, { ...creds('alpha'), will: { ...will, topic: '$SYS/x' } })).toBe(5);
    expect(await readings('beta')).toBe(0);
  });

  it('publishes a will to the device’s own prefix when the connection drops', async () => {
    const before = await readings('beta');
    const will = {
      topic: 'devices/beta/telemetry',
      payload: Buffer.from(JSON.stringify({ ts: Date.now() - 1000, values: { online: 0 } })),
      qos: 1 as const,
    };
    const client = await connectClient(url, { ...creds('beta'), will });
    client.stream.destroy(); // no DISCONNECT: the will is due
    await expect.poll(() => readings('beta'), { timeout: 10_000 }).toBe(before + 1);
    client.end(true);
  });

  it('refuses a ClientId takeover with CONNACK 2 and leaves the victim connected', async () => {
    const victim = await connectClient(url, creds('alpha'));
    let victimClosed = false;
    victim.once('close', () => {
      victimClosed = true;
    });
    expect(await connackCode(url, creds('beta', 'alpha'))).toBe(2);
    expect(await connackCode(url, creds('beta', 'alpha-2'))).toBe(2);
    expect(await connackCode(url, { clientId: 'alpha' })).toBe(2); // anonymous
    expect(await connackCode(url, { clientId: 'alpha-x' })).toBe(2);
    // The victim's session still works end to end.
    await victim.publishAsync('devices/alpha/telemetry/humidity', '40', { qos: 1 });
    expect(victimClosed).toBe(false);
    expect(victim.connected).toBe(true);
    await victim.endAsync();
  });

  it('refuses an empty ClientId with a persistent session (CONNACK 2, aedes #1095)', async () => {
    const port = gw.gateway.mqtt.port;
    // Hand-made: mqtt-packet will not generate it. CONNECT, MQTT 3.1.1, flags 0 (clean=0), keepalive 30, ClientId "".
    const persistentEmpty = Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 30, 0, 0]);
    expect(await rawConnack(port, persistentEmpty)).toBe(2);
    expect(await rawConnack(port, { clientId: '', clean: true })).toBe(0);
  });

  it('dead-letters readings of metrics the device may not send, with their own code', async () => {
    const client = await connectClient(url, creds('gamma'));
    const ts = Date.now() - 5000;
    await client.publishAsync(
      'devices/gamma/telemetry',
      JSON.stringify({ ts, values: { temperature: 20, humidity: 50 } }),
      {
        qos: 1,
      },
    );
    await client.publishAsync('devices/gamma/telemetry/pressure', '1013', { qos: 1 });
    await client.endAsync();
    const reader = gw.reader();
    try {
      expect(await reader.countReadings({ deviceId: 'gamma' })).toBe(1);
      const letters = await reader.deadLetters({ deviceId: 'gamma' });
      const codes = letters.flatMap((l) => l.rejections.map((r) => [r.metric, r.code]));
      expect(codes).toContainEqual(['humidity', 'GW_ERR_METRIC_NOT_ALLOWED']);
      expect(letters.map((l) => l.code)).toContain('GW_ERR_METRIC_NOT_ALLOWED');
      expect(letters.some((l) => l.topic === 'devices/gamma/telemetry/pressure')).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('stops the old token and closes its session on rotate, and the new token works', async () => {
    const oldToken = gw.tokens.get('rot')!;
    const session = await connectClient(url, creds('rot'));
    const gone = closed(session);
    const newToken = await gw.admin.rotate('rot');
    expect(await connackCode(url, { clientId: 'rot', username: 'rot', password: oldToken })).toBe(4);
    await gone; // closed by the registry poll, no restart
    session.end(true);
    const fresh = await connectClient(url, { clientId: 'rot', username: 'rot', password: newToken });
    await fresh.publishAsync('devices/rot/telemetry', '{"t": 1}', { qos: 1 });
    await fresh.endAsync();
    gw.tokens.set('rot', newToken);
  });

  it('refuses a revoked device and disconnects its open session', async () => {
    const session: MqttClient = await connectClient(url, creds('beta'));
    const gone = closed(session);
    gw.admin.revoke('beta');
    await gone;
    session.end(true);
    expect(await connackCode(url, creds('beta'))).toBe(4);
    expect(
      gw.logs.some((l) => l.msg === 'closing a session whose credential changed' && l.revoked === true),
    ).toBe(true);
  });

  it('counts refusals by code in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    for (const code of [
      'GW_ERR_AUTH_FAILED',
      'GW_ERR_ACL_PUBLISH',
      'GW_ERR_ACL_SUBSCRIBE',
      'GW_ERR_CLIENT_ID_REJECTED',
    ]) {
      expect(text).toMatch(new RegExp(`gateway_auth_refusals_total\\{code="${code}"\\} [1-9]`));
    }
  });

  it('still admits anonymous clients on loopback, but not under a registered device’s prefix', async () => {
    const client = await connectClient(url, { clientId: 'anon-1' });
    await client.publishAsync('devices/unregistered-1/telemetry', '{"t": 1}', { qos: 1 });
    const gone = closed(client);
    client.publish('devices/alpha/telemetry', '{"t": 2}', { qos: 1 });
    await gone;
    client.end(true);
    expect(await readings('unregistered-1')).toBe(1);
  });
});
