// The Mosquitto 2 policy on a real non-loopback address, and the HTTP side:
// the /api bearer token and the separate ops listener.

import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { connackCode, connectClient, type SecureGateway, startSecureGateway } from './secure-gateway.js';

/**
 * An address of this machine that is not loopback. Without one, 0.0.0.0 still
 * makes the listener non-loopback, and 127.0.0.1 reaches it.
 */
function nonLoopback(): { bind: string; reach: string } {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? [])
      if (a.family === 'IPv4' && !a.internal) return { bind: a.address, reach: a.address };
  }
  return { bind: '0.0.0.0', reach: '127.0.0.1' };
}

describe('anonymous clients off loopback', () => {
  let gw: (SecureGateway & { tokens: Map<string, string> }) | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });
  const { bind, reach } = nonLoopback();

  it('are refused with CONNACK 5 while registered devices get in', async () => {
    gw = await startSecureGateway({ host: bind }, [{ id: 'field-1' }]);
    const url = `mqtt://${reach}:${gw.gateway.mqtt.port}`;
    expect(await connackCode(url, { clientId: 'anon' })).toBe(5);
    const device = await connectClient(url, {
      clientId: 'field-1',
      username: 'field-1',
      password: gw.tokens.get('field-1')!,
    });
    await device.publishAsync('devices/field-1/telemetry', '{"t": 1}', { qos: 1 });
    await device.endAsync();
    expect(gw.logs.some((l) => l.code === 'GW_ERR_AUTH_REQUIRED')).toBe(true);
  });

  it('are admitted with --allow-anonymous, and the gateway says so loudly', async () => {
    gw = await startSecureGateway({ host: bind, allowAnonymous: true });
    const url = `mqtt://${reach}:${gw.gateway.mqtt.port}`;
    expect(await connackCode(url, { clientId: 'anon' })).toBe(0);
    expect(
      gw.logs.some((l) => l.level === 40 && String(l.msg).startsWith('ANONYMOUS MQTT CLIENTS ARE ALLOWED')),
    ).toBe(true);
  });
});

describe('HTTP: /api bearer token and the ops listener', () => {
  let gw: (SecureGateway & { tokens: Map<string, string> }) | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });
  const { bind, reach } = nonLoopback();
  const get = async (url: string, token?: string) => {
    const res = await fetch(
      url,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    );
    const body = await res.text();
    return { status: res.status, body };
  };

  it('enforces the token on /api off loopback, and leaves /healthz and /metrics open', async () => {
    gw = await startSecureGateway({ host: bind, apiToken: 's3cret-api-token' });
    const base = `http://${reach}:${gw.gateway.http.port}`;
    const none = await get(`${base}/api/stats`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('GW_ERR_API_UNAUTHORIZED');
    expect((await get(`${base}/api/stats`, 'wrong')).status).toBe(401);
    expect((await get(`${base}/api/stats`, 's3cret-api-token')).status).toBe(200);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/metrics`)).status).toBe(200);
  });

  it('answers 401 on /api to everyone off loopback when no token is configured', async () => {
    gw = await startSecureGateway({ host: bind });
    const base = `http://${reach}:${gw.gateway.http.port}`;
    expect((await get(`${base}/api/stats`)).status).toBe(401);
    expect((await get(`${base}/api/stats`, '')).status).toBe(401);
    expect(gw.logs.some((l) => l.level === 40 && String(l.msg).includes('no --api-token'))).toBe(true);
  });

  it('leaves /api open on loopback without a token', async () => {
    gw = await startSecureGateway({});
    expect((await get(`http://127.0.0.1:${gw.gateway.http.port}/api/stats`)).status).toBe(200);
  });

  it('moves /healthz, /readyz and /metrics to --metrics-host, and serves only them there', async () => {
    gw = await startSecureGateway({ metricsHost: '127.0.0.1', metricsPort: 0 });
    const ops = gw.gateway.ops!;
    const main = `http://127.0.0.1:${gw.gateway.http.port}`;
    const side = `http://127.0.0.1:${ops.port}`;
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await get(`${side}${path}`)).status).toBe(200);
      const moved = await get(`${main}${path}`);
      expect(moved.status).toBe(404);
      expect(JSON.parse(moved.body).error.code).toBe('GW_ERR_ROUTE_NOT_SERVED');
    }
    expect((await get(`${side}/api/stats`)).status).toBe(404);
    expect((await get(`${main}/api/stats`)).status).toBe(200);
  });
});
