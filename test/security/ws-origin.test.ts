// A web page in a browser on the gateway host must not be able to use MQTT
// over WebSocket (anonymous on loopback): every browser sends Origin on the
// upgrade, so an upgrade carrying one that is not in --ws-allowed-origins is
// refused with 403 before it becomes a WebSocket. Clients outside a browser
// send none (mqtt.js in Node) or the listener's own address (Python paho) and
// are unaffected.

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ErrorCode } from '../../core/errors.js';
import type { MqttListener } from '../../gateway/listeners/mqtt-listener.js';
import { startWsListener, WS_PATH } from '../../gateway/listeners/ws-listener.js';
import { createOriginCheck } from '../../gateway/listeners/ws-origin.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

const ALLOWED = 'https://app.example.com, http://localhost:3000';

type Upgrade = { status: 101 } | { status: number; body: string };

/** One upgrade attempt, with the Origin header a browser would send (or none). */
function tryUpgrade(port: number, origin?: string): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${port}${WS_PATH}`,
      'mqtt',
      origin === undefined ? {} : { origin },
    );
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('createOriginCheck', () => {
  const check = createOriginCheck(ALLOWED, 'gw.lan');
  const HOST = '127.0.0.1:8083';

  it('passes no Origin and the listed origins, however spelled', () => {
    expect(check(undefined, HOST)).toBeUndefined();
    expect(check('https://app.example.com', HOST)).toBeUndefined();
    expect(check('HTTPS://App.Example.com:443', HOST)).toBeUndefined();
    expect(check('http://localhost:3000', HOST)).toBeUndefined();
  });

  it.each([
    ['https://127.0.0.1:8083', '127.0.0.1:8083'],
    ['http://localhost:8083', 'localhost:8083'],
    ['http://[::1]:8083', '[::1]:8083'],
    ['https://gw.lan:8083', 'gw.lan:8083'],
  ])("passes the listener's own address as Origin (Python paho 1.x): %j with Host %j", (origin, host) => {
    expect(check(origin, host)).toBeUndefined();
  });

  it.each([
    ['http://evil.example', HOST],
    ['http://app.example.com', HOST],
    ['https://app.example.com:8443', HOST],
    ['http://localhost:3001', HOST],
    ['null', HOST],
    ['', HOST],
    ['garbage', HOST],
    // DNS rebinding: the page's own name, re-resolved to 127.0.0.1, is in Origin and Host alike
    ['http://evil.example:8083', 'evil.example:8083'],
    // a page on another machine, same port
    ['http://10.0.0.5:8083', HOST],
    // a page on this machine, another port (the dashboard, say)
    ['http://127.0.0.1:8080', HOST],
    ['http://127.0.0.1', HOST],
    ['https://127.0.0.1:8083', undefined],
  ])('refuses Origin %j with Host %j: GW_ERR_WS_ORIGIN', (origin, host) => {
    expect(check(origin, host)?.code).toBe('GW_ERR_WS_ORIGIN');
  });

  it('refuses every foreign Origin when none is allowed (the default)', () => {
    expect(createOriginCheck('')('http://localhost:8080', HOST)?.code).toBe('GW_ERR_WS_ORIGIN');
    expect(createOriginCheck('')(undefined, HOST)).toBeUndefined();
  });

  it.each(['app.example.com', 'https://app.example.com/mqtt', 'https://a.example?x=1', 'null'])(
    'refuses %j in the setting with GW_ERR_CONFIG_INVALID',
    (entry) => {
      expect(() => createOriginCheck(entry)).toThrow(
        expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
      );
    },
  );
});

describe('WebSocket listener: Origin check', () => {
  let listener: MqttListener;
  const sessions: string[] = [];
  const refused: ErrorCode[] = [];
  beforeAll(async () => {
    listener = await startWsListener({
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: 1 << 20,
      allowedOrigins: ALLOWED,
      handle: (stream, req) => {
        sessions.push(req?.headers.origin ?? '(none)');
        stream.destroy();
      },
      onRefused: (code) => refused.push(code),
    });
  });
  afterAll(() => listener.close());

  it('answers a foreign Origin 403 with the code, before any stream reaches the broker', async () => {
    const res = await tryUpgrade(listener.address.port, 'http://evil.example');
    expect(res.status).toBe(403);
    expect(JSON.parse((res as { body: string }).body)).toMatchObject({ error: { code: 'GW_ERR_WS_ORIGIN' } });
    expect(refused).toEqual(['GW_ERR_WS_ORIGIN']);
    expect(sessions).toEqual([]);
  });

  it('upgrades an allowed Origin, one without Origin and one naming the listener itself', async () => {
    const port = listener.address.port;
    expect(await tryUpgrade(port, 'https://app.example.com')).toEqual({ status: 101 });
    expect(await tryUpgrade(port)).toEqual({ status: 101 });
    expect(await tryUpgrade(port, `https://127.0.0.1:${port}`)).toEqual({ status: 101 });
    expect(sessions).toEqual(['https://app.example.com', '(none)', `https://127.0.0.1:${port}`]);
    expect(refused).toEqual(['GW_ERR_WS_ORIGIN']);
  });
});

describe('gateway with --ws: Origin check end to end', () => {
  let gw: InProcessGateway;
  beforeAll(async () => {
    gw = await startInProcessGateway({ ws: true, wsPort: 0, wsAllowedOrigins: 'https://app.example.com' });
  });
  afterAll(() => gw.close());

  const refusals = async () => {
    const text = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    const m = /^gateway_auth_refusals_total\{code="GW_ERR_WS_ORIGIN"\} (\d+)$/m.exec(text);
    return m === null ? 0 : Number(m[1]);
  };

  it('refuses a browser page from another origin (403, counted) and serves mqtt.js with or without an allowed origin', async () => {
    const port = gw.gateway.ws!.port;
    const url = `ws://127.0.0.1:${port}${WS_PATH}`;
    const before = await refusals();
    expect((await tryUpgrade(port, 'http://evil.example')).status).toBe(403);
    expect(await refusals()).toBe(before + 1);

    for (const [clientId, wsOptions] of [
      ['ws-no-origin', {}],
      ['ws-app-origin', { origin: 'https://app.example.com' }],
    ] as const) {
      const client = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, wsOptions });
      await client.publishAsync(`devices/${clientId}/telemetry`, '{"t": 1}', { qos: 1 });
      await client.endAsync();
    }
    const reader = gw.reader();
    try {
      expect(await reader.countReadings({ deviceId: 'ws-no-origin' })).toBe(1);
      expect(await reader.countReadings({ deviceId: 'ws-app-origin' })).toBe(1);
    } finally {
      await reader.close();
    }
    expect(await refusals()).toBe(before + 1);
  });
});
