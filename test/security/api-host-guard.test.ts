// DNS rebinding: a page from evil.example re-resolves its own name to
// 127.0.0.1 and reads /api as same-origin. Without an --api-token, /api on
// loopback therefore answers only Host names an outsider cannot point at it:
// localhost, IP literals and the configured --host.

import { request } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostAllowed } from '../../gateway/auth/host-header.js';
import { createHttpGuard, type HttpGuardOptions } from '../../gateway/auth/http-guard.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

function appWith(options: HttpGuardOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.addHook('onRequest', createHttpGuard(options));
  app.get('/api/stats', async () => ({ ok: true }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

const loopbackNoToken: HttpGuardOptions = {
  role: 'all',
  apiTokenRequired: false,
  apiToken: '',
  host: 'gw.lan',
};

describe('hostAllowed', () => {
  it.each([
    '127.0.0.1:8080',
    '127.0.0.1',
    '[::1]:8080',
    '[::1]',
    'localhost:8080',
    'LOCALHOST',
    '10.1.2.3:80',
    'gw.lan:8080',
    'GW.LAN',
  ])('accepts Host %j', (host) => {
    expect(hostAllowed(host, 'gw.lan')).toBe(true);
  });

  it.each([
    'evil.example',
    'evil.example:8080',
    'localhost.evil.example',
    '127.0.0.1.nip.io:8080',
    'gw.lan.evil.example',
    '[::1]evil',
    '::1',
    '',
    undefined,
  ])('refuses Host %j', (host) => {
    expect(hostAllowed(host, 'gw.lan')).toBe(false);
  });
});

describe('/api guard without a token', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('answers 403 GW_ERR_API_HOST_REJECTED to a rebinding Host, 200 to localhost, IPs and --host', async () => {
    app = appWith(loopbackNoToken);
    const evil = await app.inject({ url: '/api/stats', headers: { host: 'evil.example:8080' } });
    expect(evil.statusCode).toBe(403);
    expect(evil.json()).toMatchObject({ error: { code: 'GW_ERR_API_HOST_REJECTED' } });
    for (const host of ['127.0.0.1:8080', '[::1]:8080', 'localhost:8080', 'gw.lan:8080']) {
      expect((await app.inject({ url: '/api/stats', headers: { host } })).statusCode).toBe(200);
    }
  });

  it('leaves routes outside /api alone', async () => {
    app = appWith(loopbackNoToken);
    expect((await app.inject({ url: '/healthz', headers: { host: 'evil.example' } })).statusCode).toBe(200);
  });

  it('leaves the Host to the token once one is configured', async () => {
    app = appWith({ role: 'all', apiTokenRequired: true, apiToken: 't0ken' });
    const authorized = { host: 'gw.example.com', authorization: 'Bearer t0ken' };
    expect((await app.inject({ url: '/api/stats', headers: authorized })).statusCode).toBe(200);
    const anonymous = await app.inject({ url: '/api/stats', headers: { host: 'evil.example' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'GW_ERR_API_UNAUTHORIZED' } });
  });
});

describe('/api of a loopback gateway without a token, over a real socket', () => {
  let gw: InProcessGateway;
  beforeAll(async () => {
    gw = await startInProcessGateway({ analytics: 'off' });
  });
  afterAll(() => gw.close());

  /** GET with a forged Host header, as a rebinding page's browser would send it */
  const get = (path: string, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gw.gateway.http.port, path, headers: { host } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            body += d;
          });
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end();
    });

  it('refuses Host: evil.example and serves 127.0.0.1 and localhost', async () => {
    const port = gw.gateway.http.port;
    const evil = await get('/api/stats', `evil.example:${port}`);
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toMatchObject({ error: { code: 'GW_ERR_API_HOST_REJECTED' } });
    expect((await get('/api/stats', `127.0.0.1:${port}`)).status).toBe(200);
    expect((await get('/api/stats', `localhost:${port}`)).status).toBe(200);
  });
});
