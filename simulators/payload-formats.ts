// What a simulated device sends, in each format the gateway reads
// (docs/sensors.md): our JSON contract, or a firmware's own. One formatter
// per device: Sparkplug's seq and Home Assistant's discovery are per device.

import { encodeSparkplug } from './sparkplug-encode.js';

export const SIM_FORMATS = [
  'json',
  'tasmota',
  'zigbee2mqtt',
  'homeassistant',
  'sparkplug',
  'influx',
] as const;
export type SimFormat = (typeof SIM_FORMATS)[number];

export interface FormatMessage {
  topic: string;
  payload: Buffer | string;
  retain: boolean;
}

export interface DeviceFormatter {
  /** Sent once after connecting, before any reading: discovery configs, Sparkplug's NBIRTH. */
  hello(): FormatMessage[];
  /** One message with a value per metric, read at `ts` (epoch ms) where the format carries time. */
  encode(values: readonly number[], ts: number): FormatMessage;
  /** The device id the gateway stores it under (the name rule of docs/sensors.md). */
  readonly storedDeviceId: string;
}

const msg = (topic: string, payload: Buffer | string, retain = false): FormatMessage => ({
  topic,
  payload,
  retain,
});

/** `deviceId` must already be a stored name ([A-Za-z0-9_.-]); metric names likewise. */
export function createFormatter(
  format: SimFormat,
  deviceId: string,
  metrics: readonly string[],
): DeviceFormatter {
  const object = (values: readonly number[]) => {
    const out: Record<string, number> = {};
    metrics.forEach((m, i) => {
      out[m] = values[i]!;
    });
    return out;
  };
  switch (format) {
    case 'json':
      return {
        storedDeviceId: deviceId,
        hello: () => [],
        encode: (v, ts) => msg(`devices/${deviceId}/telemetry`, JSON.stringify({ ts, values: object(v) })),
      };
    case 'tasmota':
      // Tasmota's Time is local time without a zone: the gateway stores the receive time.
      return {
        storedDeviceId: deviceId,
        hello: () => [],
        encode: (v, ts) =>
          msg(
            `tele/${deviceId}/SENSOR`,
            JSON.stringify({ Time: new Date(ts).toISOString().slice(0, 19), SIM: object(v) }),
          ),
      };
    case 'zigbee2mqtt':
      return {
        storedDeviceId: deviceId,
        hello: () => [],
        encode: (v) => msg(`zigbee2mqtt/${deviceId}`, JSON.stringify({ ...object(v), linkquality: 120 })),
      };
    case 'homeassistant':
      return homeAssistant(deviceId, metrics, object);
    case 'sparkplug':
      return sparkplug(deviceId, metrics);
    case 'influx':
      return {
        storedDeviceId: deviceId,
        hello: () => [],
        encode: (v, ts) =>
          msg(
            `influx/${deviceId}`,
            `sim,device=${deviceId} ${metrics.map((m, i) => `${m}=${v[i]}`).join(',')} ${ts}000000`,
          ),
      };
  }
}

/** One JSON state topic for all metrics, each mapped by a retained discovery config with a value_template. */
function homeAssistant(
  deviceId: string,
  metrics: readonly string[],
  object: (values: readonly number[]) => Record<string, number>,
): DeviceFormatter {
  const stateTopic = `sim/${deviceId}/state`;
  return {
    storedDeviceId: deviceId,
    hello: () =>
      metrics.map((m) =>
        msg(
          `homeassistant/sensor/${deviceId}/${m}/config`,
          JSON.stringify({
            state_topic: stateTopic,
            value_template: `{{ value_json.${m} }}`,
            unit_of_measurement: 'u',
          }),
          true,
        ),
      ),
    encode: (v) => msg(stateTopic, JSON.stringify(object(v))),
  };
}

/** An edge node per device: NBIRTH announces aliases, then NDATA by alias with each metric's timestamp. */
function sparkplug(deviceId: string, metrics: readonly string[]): DeviceFormatter {
  let seq = 0;
  const topic = (type: string) => `spBv1.0/sim/${type}/${deviceId}`;
  return {
    storedDeviceId: `sim.${deviceId}`,
    hello() {
      seq = 0;
      const birth = metrics.map((name, i) => ({ name, alias: i + 1, datatype: 10, value: 0 }));
      return [
        msg(topic('NBIRTH'), Buffer.from(encodeSparkplug({ timestamp: Date.now(), seq: 0, metrics: birth }))),
      ];
    },
    encode(values, ts) {
      seq = (seq + 1) % 256;
      const data = values.map((value, i) => ({ alias: i + 1, timestamp: ts, datatype: 10, value }));
      return msg(topic('NDATA'), Buffer.from(encodeSparkplug({ timestamp: ts, seq, metrics: data })));
    },
  };
}
