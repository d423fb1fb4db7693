import type { DeadLetter, WriteBatch } from '../../storage/port.js';

export interface ReadingSpec {
  device: string;
  metric: string;
  ts: number;
  value: number;
}

/**
 * A fresh columnar batch on every call: a writer may transfer (detach) the
 * typed arrays, so a batch is never written twice.
 * Devices default to each reading's device, seen at its newest ts.
 */
export function makeBatch(
  readings: readonly ReadingSpec[],
  extra: { deadLetters?: DeadLetter[]; devices?: Array<{ deviceId: string; seenAt: number }> } = {},
): WriteBatch {
  const devices: string[] = [];
  const metrics: string[] = [];
  const n = readings.length;
  const deviceIndex = new Uint32Array(n);
  const metricIndex = new Uint32Array(n);
  const ts = new Float64Array(n);
  const value = new Float64Array(n);
  const seen = new Map<string, number>();
  readings.forEach((r, i) => {
    deviceIndex[i] = indexOf(devices, r.device);
    metricIndex[i] = indexOf(metrics, r.metric);
    ts[i] = r.ts;
    value[i] = r.value;
    seen.set(r.device, Math.max(seen.get(r.device) ?? r.ts, r.ts));
  });
  const sightings = extra.devices ?? [...seen].map(([deviceId, seenAt]) => ({ deviceId, seenAt }));
  return {
    readings: { devices, metrics, deviceIndex, metricIndex, ts, value },
    deadLetters: extra.deadLetters ?? [],
    devices: {
      deviceIndex: Uint32Array.from(sightings, (s) => indexOf(devices, s.deviceId)),
      seenAt: Float64Array.from(sightings, (s) => s.seenAt),
    },
  };
}

function indexOf(names: string[], name: string): number {
  const i = names.indexOf(name);
  return i >= 0 ? i : names.push(name) - 1;
}

/** `count` readings of one series, ts = start, start + step, ... */
export function series(
  device: string,
  metric: string,
  start: number,
  count: number,
  step = 1000,
): ReadingSpec[] {
  return Array.from({ length: count }, (_, i) => ({ device, metric, ts: start + i * step, value: i * 0.5 }));
}
