// `--db postgres://…` as a user runs it: the built gateway stores into
// PostgreSQL, and the query CLI and the HTTP API answer from it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli } from '../../simulators/run-cli.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const exec = promisify(execFile);

describe('gateway on PostgreSQL', () => {
  let schema: TestSchema;
  let gateway: GatewayProcess | undefined;
  beforeEach(async () => {
    schema = await createTestSchema();
  });
  afterEach(async () => {
    if (gateway !== undefined && gateway.proc.exitCode === null) await gateway.stop('SIGTERM');
    gateway = undefined;
    await schema.drop();
  });

  it('stores what mosquitto_pub sends; the query CLI and /api answer from PostgreSQL', async () => {
    gateway = await spawnGateway(['--db', schema.url]);
    const ready = gateway.logs.find((l) => l.msg === 'gateway ready')!;
    expect(ready).toMatchObject({ backend: 'postgres', hypertable: false });
    expect(String(ready.db)).toContain(schema.name);
    const publish = (topic: string, message: string) =>
      exec('mosquitto_pub', ['-p', String(gateway!.mqttPort), '-q', '1', '-t', topic, '-m', message]);
    await publish('devices/pi-cellar/telemetry', '{"temperature": 12.5, "humidity": 80}');
    await publish('devices/pi-cellar/telemetry/pressure', '1009.5');
    await publish('devices/pi-cellar/telemetry', 'not json');

    const cli = (args: string[]) =>
      runCli('cli/query-cli.js', [...args, '--db', schema.url, '--format', 'json']);
    const readings = await cli([
      'readings',
      '--device',
      'pi-cellar',
      '--metric',
      'temperature',
      '--from',
      '-1h',
    ]);
    expect(readings.code, readings.stderr).toBe(0);
    expect(JSON.parse(readings.stdout)).toMatchObject([{ value: 12.5 }]);
    const latest = await cli(['latest', '--device', 'pi-cellar']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout).toContain('1009.5');
    const dead = await cli(['dead-letters']);
    expect(dead.stdout).toContain('GW_ERR_PAYLOAD_NOT_JSON');

    const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/devices`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ devices: [{ deviceId: 'pi-cellar' }] });
    const series = await fetch(
      `http://127.0.0.1:${gateway.httpPort}/api/series?device=pi-*&metric=humidity&from=-1h&bucket=30s&agg=count,max`,
    );
    expect(await series.json()).toMatchObject({
      tier: 'raw',
      devices: 1,
      points: [{ values: { count: 1, max: 80 } }],
    });
  });

  it('refuses an unreachable server at start with GW_ERR_STORAGE_OPEN, in one line', async () => {
    const out = await runCli('gateway/main.js', [
      '--db',
      'postgres://postgres@127.0.0.1:1/test',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^gateway: GW_ERR_STORAGE_OPEN: /);
  });
});
