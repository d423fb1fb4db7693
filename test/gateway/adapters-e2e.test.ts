// Sensors as they are, against the built gateway with its defaults: real
// clients (mosquitto_pub for the JSON and text formats, mqtt.js for Sparkplug
// protobufs), read back through the HTTP API and the query CLI.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import { encodeSparkplug, metricNames } from '../../simulators/sparkplug-encode.js';

const exec = promisify(execFile);

describe('payload adapters on a default gateway', () => {
  let g: GatewayProcess;
  let db: string;
  const pub = (topic: string, message: string, ...extra: string[]) =>
    exec('mosquitto_pub', ['-p', String(g.mqttPort), '-q', '1', '-t', topic, '-m', message, ...extra]);
  const api = async (path: string) => (await fetch(`http://127.0.0.1:${g.httpPort}${path}`)).json();
  const latest = async (device: string) =>
    ((await api(`/api/devices/${encodeURIComponent(device)}/latest`)) as { readings?: unknown[] }).readings;

  beforeAll(async () => {
    db = join(tempDir(), 'gateway.db');
    g = await spawnGateway(['--db', db]);
  });
  afterAll(async () => {
    await g?.stop('SIGTERM', 10_000);
  });

  it('stores Tasmota, zigbee2mqtt, ESPHome with discovery and Influx under the documented names', async () => {
    await pub(
      'tele/tasmota_5E1A2B/SENSOR',
      '{"Time":"2026-01-01T12:00:00","BME280":{"Temperature":21.5,"Humidity":45.2,"Pressure":1013.2},"PressureUnit":"hPa","TempUnit":"C"}',
    );
    await pub(
      'zigbee2mqtt/kitchen/window sensor',
      '{"temperature":19.4,"contact":false,"battery":87,"action":"open"}',
    );
    await pub('zigbee2mqtt/bridge/state', '{"state":"online"}');
    await pub(
      'homeassistant/sensor/esp-hall/hall_temperature/config',
      '{"name":"Hall Temperature","stat_t":"esp-hall/sensor/hall_temperature/state","unit_of_meas":"°C","dev_cla":"temperature"}',
      '-r',
    );
    await pub('esp-hall/sensor/hall_temperature/state', '22.75');
    const ns = `${Date.now()}000000`;
    await pub('telegraf/site-a', `cpu,host=edge-7,cpu=cpu-total usage_idle=91.5,usage_user=4i ${ns}`);

    expect(await latest('tasmota_5E1A2B')).toEqual([
      { metric: 'BME280.Humidity', ts: expect.any(Number), value: 45.2, unit: '%' },
      { metric: 'BME280.Pressure', ts: expect.any(Number), value: 1013.2, unit: 'hPa' },
      { metric: 'BME280.Temperature', ts: expect.any(Number), value: 21.5, unit: '°C' },
    ]);
    expect(await latest('kitchen.window_sensor')).toEqual([
      { metric: 'battery', ts: expect.any(Number), value: 87 },
      { metric: 'contact', ts: expect.any(Number), value: 0 },
      { metric: 'temperature', ts: expect.any(Number), value: 19.4 },
    ]);
    const influx = await latest('edge-7');
    expect(influx).toEqual([
      { metric: 'cpu.usage_idle', ts: Number(ns.slice(0, -6)), value: 91.5 },
      { metric: 'cpu.usage_user', ts: Number(ns.slice(0, -6)), value: 4 },
    ]);
    const devices = (await api('/api/devices')) as { devices: Array<{ deviceId: string }> };
    expect(devices.devices.map((d) => d.deviceId).filter((d) => d.startsWith('bridge'))).toEqual([]);

    // The unit from the retained discovery config, through the query CLI and /api/series.
    const cli = await runCli('cli/query-cli.js', [
      'latest',
      '--device',
      'esp-hall',
      '--db',
      db,
      '--format',
      'json',
    ]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual([
      {
        metric: 'hall_temperature',
        ts: expect.any(Number),
        value: 22.75,
        unit: '°C',
        deviceClass: 'temperature',
      },
    ]);
    const series = (await api('/api/series?device=esp-hall&metric=hall_temperature&bucket=1m')) as {
      unit?: string;
    };
    expect(series.unit).toBe('°C');
  });

  it('stores a Sparkplug DBIRTH and DDATA by alias, and asks for a rebirth on an unknown alias', async () => {
    const url = `mqtt://127.0.0.1:${g.mqttPort}`;
    const host = await mqtt.connectAsync(url, { clientId: 'scada-host', reconnectPeriod: 0 });
    const edge = await mqtt.connectAsync(url, { clientId: 'edge-node-1', reconnectPeriod: 0 });
    try {
      await host.subscribeAsync('spBv1.0/plant/NCMD/#', { qos: 0 });
      const t = Date.now();
      const send = (type: string, device: string | undefined, payload: Uint8Array) =>
        edge.publishAsync(
          `spBv1.0/plant/${type}/edge1${device === undefined ? '' : `/${device}`}`,
          Buffer.from(payload),
          {
            qos: 1,
          },
        );
      await send(
        'NBIRTH',
        undefined,
        encodeSparkplug({ timestamp: t, seq: 0, metrics: [{ name: 'bdSeq', datatype: 8, value: 0 }] }),
      );
      await send(
        'DBIRTH',
        'pump',
        encodeSparkplug({
          timestamp: t,
          seq: 1,
          metrics: [
            { name: 'Outputs/Pressure', alias: 10, datatype: 10, value: 1.25 },
            { name: 'Outputs/Running', alias: 11, value: true },
          ],
        }),
      );
      await send(
        'DDATA',
        'pump',
        encodeSparkplug({
          timestamp: t + 500,
          seq: 2,
          metrics: [{ alias: 10, timestamp: t + 400, datatype: 10, value: 1.5 }],
        }),
      );
      expect(await latest('plant.edge1.pump')).toEqual([
        { metric: 'Outputs.Pressure', ts: t + 400, value: 1.5 },
        { metric: 'Outputs.Running', ts: t, value: 1 },
      ]);

      const ncmd = new Promise<[string, Buffer]>((resolve) =>
        host.once('message', (topic, payload) => resolve([topic, payload])),
      );
      await send(
        'DDATA',
        'pump',
        encodeSparkplug({ timestamp: t + 600, seq: 3, metrics: [{ alias: 77, value: 2 }] }),
      );
      const [topic, payload] = await ncmd;
      expect(topic).toBe('spBv1.0/plant/NCMD/edge1');
      expect(metricNames(payload)).toEqual(['Node Control/Rebirth']);
      await send('NDATA', undefined, Buffer.from('not a protobuf at all'));
    } finally {
      await host.endAsync();
      await edge.endAsync();
    }
  });

  it('acks, dead-letters and counts a malformed payload of each kind; the devices/ contract still works', async () => {
    await pub('tele/tasmota_bad/SENSOR', 'STATUS OK');
    await pub('zigbee2mqtt/bad_sensor', 'online');
    await pub('homeassistant/sensor/esp-bad/thing/config', '{"name": "no state topic"}');
    await pub('esp-bad/sensor/thing/state', 'unavailable');
    await pub('influx/site-b', 'this is not line protocol');
    await pub('devices/canary/telemetry', '{"temperature": 20}');
    expect(await latest('canary')).toEqual([{ metric: 'temperature', ts: expect.any(Number), value: 20 }]);

    const out = await runCli('cli/query-cli.js', ['dead-letters', '--db', db, '--format', 'json']);
    expect(out.code).toBe(0);
    const letters = JSON.parse(out.stdout) as Array<{ topic: string; code: string }>;
    const byTopic = Object.fromEntries(letters.map((l) => [l.topic, l.code]));
    expect(byTopic).toEqual({
      'spBv1.0/plant/DDATA/edge1/pump': 'GW_ERR_SPARKPLUG_ALIAS_UNKNOWN',
      'spBv1.0/plant/NDATA/edge1': 'GW_ERR_SPARKPLUG_DECODE',
      'tele/tasmota_bad/SENSOR': 'GW_ERR_TASMOTA_PAYLOAD',
      'zigbee2mqtt/bad_sensor': 'GW_ERR_ZIGBEE2MQTT_PAYLOAD',
      'homeassistant/sensor/esp-bad/thing/config': 'GW_ERR_HOMEASSISTANT_CONFIG',
      'esp-bad/sensor/thing/state': 'GW_ERR_HOMEASSISTANT_STATE',
      'influx/site-b': 'GW_ERR_INFLUX_LINE',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${g.httpPort}/metrics`)).text();
    for (const code of Object.values(byTopic))
      expect(metrics).toContain(`gateway_rejections_total{code="${code}"} 1`);
    expect(g.proc.exitCode).toBeNull();
  });
});
