// Series metadata on PostgreSQL: a unit from a retained discovery config and
// Tasmota's stated units come back from latest and series, as on SQLite.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli } from '../../simulators/run-cli.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const exec = promisify(execFile);

describe('adapter units on PostgreSQL', () => {
  let schema: TestSchema;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    schema = await createTestSchema();
    gateway = await spawnGateway(['--db', schema.url]);
  });
  afterAll(async () => {
    await gateway?.stop('SIGTERM');
    await schema.drop();
  });

  it('keeps unit and device_class on the series and answers them', async () => {
    const pub = (topic: string, message: string, ...extra: string[]) =>
      exec('mosquitto_pub', [
        '-p',
        String(gateway.mqttPort),
        '-q',
        '1',
        '-t',
        topic,
        '-m',
        message,
        ...extra,
      ]);
    await pub(
      'homeassistant/sensor/esp-cellar/cellar_temp/config',
      '{"stat_t":"esp-cellar/sensor/cellar_temp/state","unit_of_meas":"°C","dev_cla":"temperature"}',
      '-r',
    );
    await pub('esp-cellar/sensor/cellar_temp/state', '11.5');
    await pub('tele/plug-1/SENSOR', '{"ENERGY":{"Power":58,"Voltage":231}}');

    const latest = await runCli('cli/query-cli.js', [
      'latest',
      '--device',
      'esp-cellar',
      '--db',
      schema.url,
      '--format',
      'json',
    ]);
    expect(latest.code, latest.stderr).toBe(0);
    expect(JSON.parse(latest.stdout)).toEqual([
      { metric: 'cellar_temp', ts: expect.any(Number), value: 11.5, unit: '°C', deviceClass: 'temperature' },
    ]);
    const http = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/devices/plug-1/latest`);
    expect(((await http.json()) as { readings: unknown[] }).readings).toEqual([
      { metric: 'ENERGY.Power', ts: expect.any(Number), value: 58, unit: 'W' },
      { metric: 'ENERGY.Voltage', ts: expect.any(Number), value: 231, unit: 'V' },
    ]);
    const series = await fetch(
      `http://127.0.0.1:${gateway.httpPort}/api/series?device=esp-*&metric=cellar_temp&bucket=1m`,
    );
    expect(((await series.json()) as { unit?: string }).unit).toBe('°C');
    const rows = await schema.query<{ unit: string; device_class: string }>(
      `SELECT unit, device_class FROM series WHERE device_id = 'esp-cellar'`,
    );
    expect(rows).toEqual([{ unit: '°C', device_class: 'temperature' }]);
  });
});
