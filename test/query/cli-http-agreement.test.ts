// End to end: readings published with QoS 1 through the real gateway (spawned
// the way a user runs it), then the same series asked of `npm run query` (its
// own read-only connection, a separate process) and of GET /api/series; the
// same for readings, dead letters and export, and their refusals.
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';

const DEVICES = ['agree-1', 'agree-2'];
const PER_DEVICE = 30;
const STEP_MS = 2_000;
// All in the minute before last: a minute already over, so its rollups are due at
// once, and well within the default lateness (3 min), so they are not left out.
const START = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const FROM = START - 60_000;
const TO = START + 120_000;
/** how long the rollups of those readings may take to land (the analytics tick is 1 s) */
const SETTLE_MS = 20_000;

let gateway: GatewayProcess;
let db: string;

async function publishAll(): Promise<void> {
  const clients: MqttClient[] = await Promise.all(
    DEVICES.map((id) =>
      connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: id, reconnectPeriod: 0 }),
    ),
  );
  try {
    await Promise.all(
      clients.map(async (client, d) => {
        for (let i = 0; i < PER_DEVICE; i++) {
          const payload = JSON.stringify({
            ts: START + i * STEP_MS,
            values: { temp: 20 + d * 10 + (i % 7) * 0.5 },
          });
          // QoS 1: resolves on PUBACK, which the gateway sends only once the reading is committed.
          await client.publishAsync(`devices/${DEVICES[d]}/telemetry`, payload, { qos: 1 });
        }
        // A dead letter, acked once it is stored, like a reading.
        await client.publishAsync(`devices/${DEVICES[d]}/telemetry`, `not json ${d}`, { qos: 1 });
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}

async function viaHttp(params: Record<string, string>): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/series?${new URLSearchParams(params)}`);
  const body = (await res.json()) as unknown;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function viaCli(params: Record<string, string>): Promise<unknown> {
  const args = ['series', ...Object.entries(params).flatMap(([k, v]) => [`--${k}`, v]), '--format', 'json'];
  const run = await runCli('cli/query-cli.js', [...args, '--db', db]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as unknown;
}

interface Answer {
  device: string;
  tier: string;
  devices: number;
  points: Array<{ values: { count: number } }>;
}
const counted = (a: Answer) => a.points.reduce((n, p) => n + p.values.count, 0);

/**
 * Rollups land a tick after the readings' acks, so HTTP is asked until every
 * reading is counted (bounded by SETTLE_MS); then the CLI must give the same.
 */
async function agreedAnswer(
  params: Record<string, string>,
  expected: number,
): Promise<{ http: Answer; cli: Answer }> {
  const deadline = Date.now() + SETTLE_MS;
  let http = (await viaHttp(params)) as Answer;
  while (counted(http) < expected && Date.now() < deadline) http = (await viaHttp(params)) as Answer;
  const cli = (await viaCli(params)) as Answer;
  return { http, cli };
}

beforeAll(async () => {
  db = join(tempDir('gw-agree-'), 'gateway.db');
  gateway = await spawnGateway(['--db', db]);
  await publishAll();
});

afterAll(async () => {
  await gateway?.stop();
});

describe('npm run query -- series and GET /api/series', () => {
  const base = {
    metric: 'temp',
    from: String(FROM),
    to: String(TO),
    agg: 'count,min,max,avg,sum,stddev,p50,p95,p99,last',
  };

  it.each([
    ['one device, raw buckets', { device: 'agree-1', bucket: '30s' }],
    ['one device, 1-minute buckets', { device: 'agree-2', bucket: '1m' }],
    ['a glob, fleet-wide, 5-minute buckets', { device: 'agree-*', bucket: '5m' }],
  ])('agree for %s', async (_name, extra) => {
    const devices = extra.device.includes('*') ? DEVICES.length : 1;
    const { http, cli } = await agreedAnswer({ ...base, ...extra }, PER_DEVICE * devices);
    expect(cli).toEqual(http);
    expect(http.device).toBe(extra.device);
    expect(http.tier).toBe(extra.bucket === '30s' ? 'raw' : '1m');
    expect(http.devices).toBe(devices);
    expect(counted(http)).toBe(PER_DEVICE * devices);
  });
});

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli('cli/query-cli.js', [...args, '--db', db]);
}

async function http(route: string, params: Record<string, string>): Promise<Response> {
  return fetch(`http://127.0.0.1:${gateway.httpPort}/api/${route}?${new URLSearchParams(params)}`);
}

const flags = (params: Record<string, string>) => Object.entries(params).flatMap(([k, v]) => [`--${k}`, v]);

describe('readings, dead letters and export: the CLI and HTTP answer alike', () => {
  it('readings: the CLI prints the array HTTP answers', async () => {
    const params = { device: 'agree-2', metric: 'temp', from: String(FROM), to: String(TO), limit: '20' };
    const run = await cli(['readings', ...flags(params), '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const res = await http('readings', params);
    const body = (await res.json()) as { deviceId: string; metric: string; readings: unknown[] };
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ deviceId: 'agree-2', metric: 'temp' });
    expect(body.readings).toHaveLength(20);
    expect(JSON.parse(run.stdout)).toEqual(body.readings);
  });

  it('dead letters: the CLI prints the array HTTP answers', async () => {
    const run = await cli(['dead-letters', '--device', 'agree-1', '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const res = await http('dead-letters', { device: 'agree-1' });
    const body = (await res.json()) as { deadLetters: Array<{ code: string; payload: string }> };
    expect(body.deadLetters).toHaveLength(1);
    expect(body.deadLetters[0]).toMatchObject({ code: 'GW_ERR_PAYLOAD_NOT_JSON', payload: 'not json 0' });
    expect(JSON.parse(run.stdout)).toEqual(body.deadLetters);
  });

  it.each(['csv', 'ndjson'])('export as %s: the CLI writes the bytes HTTP streams', async (format) => {
    const params = { device: 'agree-*', metric: 'temp', from: String(FROM), to: String(TO), format };
    const run = await cli(['export', ...flags(params)]);
    expect(run.code, run.stderr).toBe(0);
    const res = await http('export', params);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(format === 'csv' ? 'text/csv' : 'ndjson');
    const text = await res.text();
    expect(run.stdout).toBe(text);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(DEVICES.length * PER_DEVICE + (format === 'csv' ? 1 : 0));
  });

  it.each([
    ['readings', { device: 'agree-*', metric: 'temp' }, 'GW_ERR_QUERY_INVALID', 'device'],
    ['readings', { device: 'agree-1', metric: 'temp', limit: '0' }, 'GW_ERR_QUERY_INVALID', 'limit'],
    ['readings', { device: 'agree-1' }, 'GW_ERR_QUERY_PARAM_MISSING', 'metric'],
    ['dead-letters', { limit: 'many' }, 'GW_ERR_QUERY_INVALID', 'limit'],
    ['export', { format: 'csv' }, 'GW_ERR_QUERY_PARAM_MISSING', 'from'],
    ['export', { from: '-1h', format: 'csv', to: '-2h' }, 'GW_ERR_QUERY_INVALID', 'to'],
    ['export', { from: '-1h', format: 'csv', bucket: '1m' }, 'GW_ERR_QUERY_INVALID', 'bucket'],
  ])('%s %j: both refuse, naming the same parameter', async (route, params, code, param) => {
    const res = await http(route, params);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code, param, message: expect.any(String) } });
    const run = await cli([route, ...flags(params)]);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`--${param}`);
  });
});
