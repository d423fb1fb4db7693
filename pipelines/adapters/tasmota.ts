// Tasmota: tele/{device}/SENSOR, a JSON document of sensors whose numeric
// leaves are the metrics (https://tasmota.github.io/docs/JSON-Status-Responses/).

import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import {
  type AdapterOutcome,
  type AdapterReading,
  isRecord,
  type PayloadAdapter,
  parseJson,
  refused,
} from './adapter.js';
import { numericLeaves } from './flatten.js';
import type { LocalTimeParser } from './local-time.js';

export interface TasmotaOptions {
  /** parses Time in the configured zone; without one the receive time is used */
  localTime?: LocalTimeParser;
}

const SKIP = new Set(['Time', 'TempUnit', 'PressureUnit', 'SpeedUnit']);

// Units Tasmota states for its ENERGY block (fixed by the firmware), by leaf name.
const ENERGY_UNITS: Record<string, string> = {
  Total: 'kWh',
  Today: 'kWh',
  Yesterday: 'kWh',
  Power: 'W',
  ApparentPower: 'VA',
  ReactivePower: 'VAr',
  Voltage: 'V',
  Current: 'A',
};

export function createTasmotaAdapter(options: TasmotaOptions = {}): PayloadAdapter {
  return {
    name: 'tasmota',
    owns: (topic) => topic.startsWith('tele/') && topic.endsWith('/SENSOR'),
    decode(topic, payload, receivedAt): AdapterOutcome {
      const deviceId = toStoredName(topic.slice(5, -7));
      if (!NAME_PATTERN.test(deviceId)) return refused('GW_ERR_ADAPTER_NAME_INVALID');
      const doc = parseJson(payload);
      if (!isRecord(doc)) return refused('GW_ERR_TASMOTA_PAYLOAD', deviceId);
      let ts = receivedAt;
      if (options.localTime !== undefined && typeof doc.Time === 'string') {
        const parsed = options.localTime(doc.Time);
        if (parsed === undefined) return refused('GW_ERR_TASMOTA_TIME', deviceId);
        ts = parsed;
      }
      const stated = statedUnits(doc);
      const readings: AdapterReading[] = [];
      for (const { metric, value } of numericLeaves(doc, { booleans: false, skip: SKIP })) {
        const r: AdapterReading = { deviceId, metric, ts, value };
        const unit = unitOf(metric, stated);
        if (unit !== undefined) r.unit = unit;
        readings.push(r);
      }
      return { kind: 'readings', readings };
    },
  };
}

interface StatedUnits {
  temp?: string;
  pressure?: string;
  speed?: string;
}

function statedUnits(doc: Record<string, unknown>): StatedUnits {
  const out: StatedUnits = {};
  // Home Assistant requires °C, not C (home-assistant/core #146957).
  if (doc.TempUnit === 'C' || doc.TempUnit === 'F') out.temp = `°${doc.TempUnit}`;
  if (typeof doc.PressureUnit === 'string') out.pressure = doc.PressureUnit;
  if (typeof doc.SpeedUnit === 'string') out.speed = doc.SpeedUnit;
  return out;
}

function unitOf(metric: string, stated: StatedUnits): string | undefined {
  const dot = metric.lastIndexOf('.');
  const leaf = metric.slice(dot + 1);
  if (leaf === 'Temperature' || leaf === 'DewPoint') return stated.temp;
  if (leaf === 'Pressure' || leaf === 'SeaPressure') return stated.pressure;
  if (leaf === 'Speed') return stated.speed;
  if (leaf === 'Humidity') return '%';
  if (metric.startsWith('ENERGY.')) return ENERGY_UNITS[leaf];
  return undefined;
}
