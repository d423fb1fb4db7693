import { describe, expect, it } from 'vitest';
import { toStoredName } from '../../../core/names.js';
import type { AdapterOutcome } from '../../../pipelines/adapters/adapter.js';
import { createAdapterRegistry, parseAdapterList } from '../../../pipelines/adapters/adapter-registry.js';
import { createHomeAssistantAdapter } from '../../../pipelines/adapters/homeassistant.js';
import { createInfluxAdapter } from '../../../pipelines/adapters/influx.js';
import { createLocalTimeParser } from '../../../pipelines/adapters/local-time.js';
import { createTasmotaAdapter } from '../../../pipelines/adapters/tasmota.js';
import { createZigbee2mqttAdapter, zigbee2mqttOwns } from '../../../pipelines/adapters/zigbee2mqtt.js';
import * as f from './fixtures.js';

const AT = Date.UTC(2021, 0, 1, 12, 0, 5);
const bytes = (s: string) => new TextEncoder().encode(s);

function readings(outcome: AdapterOutcome) {
  if (outcome.kind !== 'readings') throw new Error(`expected readings, got ${JSON.stringify(outcome)}`);
  return outcome.readings;
}

describe('the name rule', () => {
  it('maps / to . and anything else outside [A-Za-z0-9_.-] to _', () => {
    expect(toStoredName('Inputs/Temperature')).toBe('Inputs.Temperature');
    expect(toStoredName('living room/lamp #2')).toBe('living_room.lamp__2');
    expect(toStoredName('0x00158d0003030af1')).toBe('0x00158d0003030af1');
  });
});

describe('tasmota', () => {
  const tasmota = createTasmotaAdapter();
  it('owns tele/{device}/SENSOR only', () => {
    expect(tasmota.owns('tele/plug-1/SENSOR')).toBe(true);
    expect(tasmota.owns('tele/plug-1/STATE')).toBe(false);
    expect(tasmota.owns('cmnd/plug-1/POWER')).toBe(false);
  });
  it('flattens numeric leaves with . and states units Tasmota gives', () => {
    expect(readings(tasmota.decode('tele/bme/SENSOR', bytes(f.TASMOTA_BME280), AT))).toEqual([
      { deviceId: 'bme', metric: 'BME280.Temperature', ts: AT, value: 24.1, unit: '°C' },
      { deviceId: 'bme', metric: 'BME280.Humidity', ts: AT, value: 42.5, unit: '%' },
      { deviceId: 'bme', metric: 'BME280.DewPoint', ts: AT, value: 10.6, unit: '°C' },
      { deviceId: 'bme', metric: 'BME280.Pressure', ts: AT, value: 1015.2, unit: 'hPa' },
    ]);
  });
  it('gives the ENERGY block its fixed units and skips its strings', () => {
    const rs = readings(tasmota.decode('tele/plug/SENSOR', bytes(f.TASMOTA_ENERGY), AT));
    expect(rs.map((r) => [r.metric, r.unit])).toEqual([
      ['ENERGY.Total', 'kWh'],
      ['ENERGY.Yesterday', 'kWh'],
      ['ENERGY.Today', 'kWh'],
      ['ENERGY.Power', 'W'],
      ['ENERGY.ApparentPower', 'VA'],
      ['ENERGY.ReactivePower', 'VAr'],
      ['ENERGY.Factor', undefined],
      ['ENERGY.Voltage', 'V'],
      ['ENERGY.Current', 'A'],
    ]);
  });
  it('reads Time in the configured zone, across daylight saving', () => {
    const berlin = createTasmotaAdapter({ localTime: createLocalTimeParser('Europe/Berlin') });
    const [r] = readings(berlin.decode('tele/bme/SENSOR', bytes(f.TASMOTA_BME280), AT));
    expect(r!.ts).toBe(Date.UTC(2021, 0, 1, 11, 0, 0));
    const parse = createLocalTimeParser('Europe/Berlin');
    expect(parse('2021-07-01T12:00:00')).toBe(Date.UTC(2021, 6, 1, 10, 0, 0));
    expect(parse('2021-07-01T12:00:00+00:00')).toBe(Date.UTC(2021, 6, 1, 12, 0, 0));
    expect(berlin.decode('tele/bme/SENSOR', bytes('{"Time":"noon","A":{"B":1}}'), AT)).toEqual({
      kind: 'refused',
      code: 'GW_ERR_TASMOTA_TIME',
      deviceId: 'bme',
    });
  });
  it('refuses what is not a JSON object, naming the device', () => {
    for (const bad of ['not json', '[1,2]', '42', ''])
      expect(tasmota.decode('tele/bme/SENSOR', bytes(bad), AT)).toEqual({
        kind: 'refused',
        code: 'GW_ERR_TASMOTA_PAYLOAD',
        deviceId: 'bme',
      });
  });
});

describe('zigbee2mqtt', () => {
  const z2m = createZigbee2mqttAdapter();
  it('owns device topics, not the bridge, set, get or availability', () => {
    expect(zigbee2mqttOwns('zigbee2mqtt/kitchen/floor_light')).toBe(true);
    expect(zigbee2mqttOwns('zigbee2mqtt/0x00158d0003030af1')).toBe(true);
    for (const t of [
      'zigbee2mqtt/bridge/state',
      'zigbee2mqtt/bridge/devices',
      'zigbee2mqtt/lamp/set',
      'zigbee2mqtt/lamp/set/brightness',
      'zigbee2mqtt/lamp/get',
      'zigbee2mqtt/lamp/availability',
    ])
      expect(zigbee2mqttOwns(t)).toBe(false);
  });
  it('maps the friendly name to a device id and stores booleans as 1/0', () => {
    expect(readings(z2m.decode('zigbee2mqtt/kitchen/sensor 1', bytes(f.Z2M_TEMPERATURE), AT))).toEqual([
      { deviceId: 'kitchen.sensor_1', metric: 'temperature', ts: AT, value: 27.34 },
      { deviceId: 'kitchen.sensor_1', metric: 'humidity', ts: AT, value: 44.72 },
    ]);
    const rs = readings(z2m.decode('zigbee2mqtt/hall', bytes(f.Z2M_OCCUPANCY), AT));
    expect(rs.map((r) => [r.metric, r.value])).toEqual([
      ['occupancy', 1],
      ['linkquality', 120],
      ['battery', 100],
    ]);
  });
  it('refuses non-objects with its own code', () => {
    expect(z2m.decode('zigbee2mqtt/hall', bytes('online'), AT)).toMatchObject({
      kind: 'refused',
      code: 'GW_ERR_ZIGBEE2MQTT_PAYLOAD',
    });
  });
});

describe('home assistant discovery and ESPHome', () => {
  it('maps a discovered state topic through value_json, with unit and device class', () => {
    const ha = createHomeAssistantAdapter();
    expect(ha.owns(f.HA_STATE_TOPIC)).toBe(false);
    expect(ha.decode(f.HA_DISCOVERY_TOPIC, bytes(f.HA_DISCOVERY), AT)).toEqual({ kind: 'ignored' });
    expect(ha.owns(f.HA_STATE_TOPIC)).toBe(true);
    expect(readings(ha.decode(f.HA_STATE_TOPIC, bytes(f.HA_STATE), AT))).toEqual([
      {
        deviceId: 'bedroom01ae',
        metric: 'sensorBedroomT',
        ts: AT,
        value: 23.2,
        unit: '°C',
        deviceClass: 'temperature',
      },
    ]);
    // An empty retained config removes the entity.
    ha.decode(f.HA_DISCOVERY_TOPIC, new Uint8Array(0), AT);
    expect(ha.owns(f.HA_STATE_TOPIC)).toBe(false);
  });
  it('reads ESPHome state with and without its abbreviated discovery config', () => {
    const ha = createHomeAssistantAdapter();
    expect(readings(ha.decode(f.ESPHOME_STATE_TOPIC, bytes('21.5'), AT))).toEqual([
      { deviceId: 'livingroom', metric: 'livingroom_temperature', ts: AT, value: 21.5 },
    ]);
    ha.decode(f.ESPHOME_DISCOVERY_TOPIC, bytes(f.ESPHOME_DISCOVERY), AT);
    expect(readings(ha.decode(f.ESPHOME_STATE_TOPIC, bytes('21.6'), AT))).toEqual([
      {
        deviceId: 'livingroom',
        metric: 'livingroom_temperature',
        ts: AT,
        value: 21.6,
        unit: '°C',
        deviceClass: 'temperature',
      },
    ]);
  });
  it('keeps discovery per instance: one gateway learns nothing from another', () => {
    const a = createHomeAssistantAdapter();
    const b = createHomeAssistantAdapter();
    a.decode(f.HA_DISCOVERY_TOPIC, bytes(f.HA_DISCOVERY), AT);
    expect(a.owns(f.HA_STATE_TOPIC)).toBe(true);
    expect(b.owns(f.HA_STATE_TOPIC)).toBe(false);
  });
  it('refuses bad configs, templates and states with their own codes', () => {
    const ha = createHomeAssistantAdapter();
    expect(ha.decode('homeassistant/sensor/x/y/config', bytes('{'), AT)).toMatchObject({
      code: 'GW_ERR_HOMEASSISTANT_CONFIG',
    });
    const jinja = JSON.stringify({ state_topic: 's/t', value_template: '{{ value | int * 2 }}' });
    expect(ha.decode('homeassistant/sensor/x/y/config', bytes(jinja), AT)).toMatchObject({
      code: 'GW_ERR_HOMEASSISTANT_TEMPLATE',
    });
    expect(ha.decode('node/sensor/t/state', bytes('nan'), AT)).toMatchObject({
      code: 'GW_ERR_HOMEASSISTANT_STATE',
      deviceId: 'node',
    });
    ha.decode(f.HA_DISCOVERY_TOPIC, bytes(f.HA_DISCOVERY), AT);
    expect(ha.decode(f.HA_STATE_TOPIC, bytes('{"humidity": 1}'), AT)).toMatchObject({
      code: 'GW_ERR_HOMEASSISTANT_TEMPLATE',
    });
  });
});

describe('influx line protocol', () => {
  it('stores numeric and boolean fields as {measurement}.{field}, device from device or host', () => {
    const influx = createInfluxAdapter();
    const out = influx.decode('telegraf/site-a', bytes(f.INFLUX_LINES), AT);
    expect(out).toEqual({
      kind: 'readings',
      rejections: [],
      readings: [
        { deviceId: 'server01', metric: 'cpu.usage_idle', ts: 1556813561098, value: 92.5 },
        { deviceId: 'server01', metric: 'cpu.usage_user', ts: 1556813561098, value: 3 },
        { deviceId: 'server01', metric: 'cpu.online', ts: 1556813561098, value: 1 },
        { deviceId: 'station_7', metric: 'weather.temperature', ts: 1465839830100, value: 82 },
        { deviceId: 'station_7', metric: 'weather.humidity', ts: 1465839830100, value: 71 },
      ],
    });
  });
  it('takes the precision option, the topic as a last resort, and the receive time without a stamp', () => {
    const s = createInfluxAdapter('s');
    expect(readings(s.decode('influx/boiler', bytes('heat temp=60.5 1609502400'), AT))).toEqual([
      { deviceId: 'boiler', metric: 'heat.temp', ts: 1609502400000, value: 60.5 },
    ]);
    expect(readings(s.decode('influx/boiler', bytes('heat temp=60.5'), AT))[0]!.ts).toBe(AT);
  });
  it('refuses bad lines by index and keeps the good ones', () => {
    const influx = createInfluxAdapter();
    const out = influx.decode(
      'influx',
      bytes('cpu,host=a x=1\ncpu,host=a x=\nnohost y=2\ncpu,host=a z=1 12ab'),
      AT,
    );
    expect(out).toMatchObject({
      kind: 'readings',
      rejections: [
        { index: 1, code: 'GW_ERR_INFLUX_LINE' },
        { index: 2, code: 'GW_ERR_INFLUX_NO_DEVICE' },
        { index: 3, code: 'GW_ERR_INFLUX_TIMESTAMP' },
      ],
    });
    expect(influx.decode('influx/a', bytes('just words'), AT)).toEqual({
      kind: 'refused',
      code: 'GW_ERR_INFLUX_LINE',
    });
  });
});

describe('registry', () => {
  it('parses --adapters and refuses unknown names', () => {
    expect(parseAdapterList('all')).toHaveLength(5);
    expect(parseAdapterList('none')).toEqual([]);
    expect(parseAdapterList('influx, tasmota')).toEqual(['influx', 'tasmota']);
    expect(parseAdapterList('influx,modbus')).toEqual({ unknown: 'modbus' });
  });
  it('matches only chosen adapters, and zigbee2mqtt before a discovered topic', () => {
    const reg = createAdapterRegistry({
      names: ['tasmota'],
      send: () => {},
      timeZone: '',
      influxPrecision: 'ns',
    });
    expect(reg.match('tele/a/SENSOR')?.name).toBe('tasmota');
    expect(reg.match('zigbee2mqtt/a')).toBeUndefined();
    expect(reg.match('devices/a/telemetry')).toBeUndefined();
    const all = createAdapterRegistry({
      names: parseAdapterList('all') as never,
      send: () => {},
      timeZone: '',
      influxPrecision: 'ns',
    });
    const config = JSON.stringify({
      state_topic: 'zigbee2mqtt/lamp',
      value_template: '{{ value_json.power }}',
    });
    all
      .match('homeassistant/sensor/lamp/power/config')!
      .decode('homeassistant/sensor/lamp/power/config', bytes(config), AT);
    expect(all.match('zigbee2mqtt/lamp')?.name).toBe('zigbee2mqtt');
  });
});
