// Turns the pure sensor models into the readings one device emits at one of
// its due instants, and readings into the gateway's JSON payloads.

import { type ModelConfig, type Spike, sensorValue, spikeAt } from './sensor-model.js';

export interface Reading {
  /** the device's own clock (skewed), epoch ms; unique per device */
  ts: number;
  values: Record<string, number>;
  /** set when a metric of this reading is an injected anomaly; never serialized */
  spike: Spike | null;
}

export interface DeviceClock {
  index: number;
  skewMs: number;
  /** the last ts used, so that no two readings of a device share a ms */
  lastTs: number;
}

export interface ReadingSampler {
  /** The `batch` readings of one message due at dueMs, evenly spaced over the period before it. */
  sample(device: DeviceClock, dueMs: number): Reading[];
  /** A single reading as an object; several (a batch or a replay) as an array. */
  encode(readings: readonly Reading[], asArray: boolean): string;
  /** stored rows a message of these readings becomes */
  valueCount(readings: readonly Reading[]): number;
}

export function createReadingSampler(options: {
  model: ModelConfig;
  metrics: readonly string[];
  batch: number;
  periodMs: number;
}): ReadingSampler {
  const { model, metrics, batch, periodMs } = options;
  // A key whitelist keeps `spike` (and anything else) out of the payload.
  const keys = ['ts', 'values', ...metrics];
  return {
    sample(device, dueMs) {
      const readings: Reading[] = [];
      for (let b = 0; b < batch; b++) {
        const t = Math.floor(dueMs - ((batch - 1 - b) * periodMs) / batch);
        let ts = t + device.skewMs;
        if (ts <= device.lastTs) ts = device.lastTs + 1;
        device.lastTs = ts;
        const values: Record<string, number> = {};
        for (const metric of metrics) values[metric] = sensorValue(model.seed, device.index, metric, t);
        const spike = spikeAt(model, device.index, metrics, t);
        if (spike) values[spike.metric] = spike.value;
        readings.push({ ts, values, spike });
      }
      return readings;
    },
    encode(readings, asArray) {
      return JSON.stringify(asArray || readings.length !== 1 ? readings : readings[0], keys);
    },
    valueCount(readings) {
      return readings.length * metrics.length;
    },
  };
}

/** Readings objects per replay message: well under the gateway's 1000 values and 64 KiB. */
export function replayChunkSize(metricCount: number): number {
  return Math.max(1, Math.min(200, Math.floor(500 / Math.max(1, metricCount))));
}
