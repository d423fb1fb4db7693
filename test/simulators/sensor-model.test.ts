import { describe, expect, it } from 'vitest';
import { KNOWN_METRICS, profileFor } from '../../simulators/metric-profiles.js';
import { createReadingSampler } from '../../simulators/reading-sampler.js';
import { hash32, unit } from '../../simulators/seeded-hash.js';
import {
  clockSkewMs,
  dropoutAt,
  expectedValue,
  type ModelConfig,
  samplePhaseMs,
  sensorValue,
  spikeAt,
} from '../../simulators/sensor-model.js';

const T0 = Date.UTC(2025, 5, 1, 0, 0, 0);
const HOUR = 3_600_000;
const config: ModelConfig = {
  seed: 7,
  readingsPerSecond: 1,
  spikesPerDeviceHour: 2,
  dropoutsPerDeviceHour: 1,
  dropoutMaxMs: 30_000,
};

describe('seeded hash', () => {
  it('is a pure function of its inputs and keeps the high bits of epoch ms', () => {
    expect(hash32(1, 2, T0)).toBe(hash32(1, 2, T0));
    expect(hash32(1, 2, T0)).not.toBe(hash32(1, 2, T0 + 2 ** 32));
    expect(hash32(1, 2)).not.toBe(hash32(2, 1));
  });

  it('spreads evenly over [0, 1)', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[Math.floor(unit(3, i) * 10)]++;
    for (const b of buckets) expect(b).toBeGreaterThan(1800);
  });
});

describe('sensor values', () => {
  it('are a pure function of (seed, device, metric, time)', () => {
    const a = sensorValue(1, 42, 'temperature', T0 + 12_345);
    expect(sensorValue(1, 42, 'temperature', T0 + 12_345)).toBe(a);
    expect(sensorValue(2, 42, 'temperature', T0 + 12_345)).not.toBe(a);
    expect(sensorValue(1, 43, 'temperature', T0 + 12_345)).not.toBe(a);
  });

  it('stay within plausible ranges for every known metric over two days', () => {
    for (const metric of KNOWN_METRICS) {
      const p = profileFor(metric);
      const span = p.baseSpread + Math.abs(p.diurnalAmplitude) + 5 * p.drift + 6 * p.noise;
      for (let device = 0; device < 20; device++) {
        for (let t = T0; t < T0 + 48 * HOUR; t += 37 * 60_000) {
          const v = sensorValue(5, device, metric, t);
          expect(Number.isFinite(v)).toBe(true);
          expect(Math.abs(v - p.base)).toBeLessThanOrEqual(span);
          if (p.min !== undefined) expect(v).toBeGreaterThanOrEqual(p.min);
          if (p.max !== undefined) expect(v).toBeLessThanOrEqual(p.max);
        }
      }
    }
  });

  it('follow a diurnal cycle: a day apart they nearly repeat, half a day apart they differ', () => {
    const amp = profileFor('temperature').diurnalAmplitude;
    let sameHour = 0;
    let halfDay = 0;
    const n = 200;
    for (let device = 0; device < n; device++) {
      const t = T0 + device * 7 * 60_000;
      const day = 24 * HOUR;
      // Drift knots are 6 h apart, so compare within one knot's reach of noise.
      sameHour += Math.abs(
        expectedValue(1, device, 'temperature', t) - expectedValue(1, device, 'temperature', t + day),
      );
      halfDay += Math.abs(
        expectedValue(1, device, 'temperature', t) - expectedValue(1, device, 'temperature', t + day / 2),
      );
    }
    expect(halfDay / n).toBeGreaterThan(amp);
    expect(halfDay / n).toBeGreaterThan(sameHour / n);
  });

  it('drift slowly: consecutive seconds differ by noise only', () => {
    const p = profileFor('pressure');
    for (let i = 0; i < 100; i++) {
      const t = T0 + i * 3_600_123;
      expect(
        Math.abs(expectedValue(3, i, 'pressure', t + 1000) - expectedValue(3, i, 'pressure', t)),
      ).toBeLessThan(p.noise);
    }
  });

  it('give unknown metrics a generic shape', () => {
    expect(Number.isFinite(sensorValue(1, 1, 'vibration_rms', T0))).toBe(true);
    expect(profileFor('vibration_rms')).toBe(profileFor('something-else'));
  });
});

describe('spikes', () => {
  it('occur at about the configured rate and stand out from the expected value', () => {
    let count = 0;
    const metrics = ['temperature', 'humidity', 'pressure'];
    for (let device = 0; device < 50; device++) {
      for (let s = 0; s < 3600; s++) {
        const spike = spikeAt(config, device, metrics, T0 + s * 1000);
        if (!spike) continue;
        count++;
        expect(metrics).toContain(spike.metric);
        const p = profileFor(spike.metric);
        const clamped =
          (p.min !== undefined && spike.value === p.min) || (p.max !== undefined && spike.value === p.max);
        if (!clamped) expect(Math.abs(spike.value - spike.expected)).toBeGreaterThanOrEqual(0.69 * p.spike);
        expect(spikeAt(config, device, metrics, T0 + s * 1000)).toEqual(spike);
      }
    }
    // 50 device-hours at 2 per hour: 100 expected.
    expect(count).toBeGreaterThan(60);
    expect(count).toBeLessThan(150);
  });

  it('are off at rate 0', () => {
    for (let s = 0; s < 1000; s++)
      expect(spikeAt({ ...config, spikesPerDeviceHour: 0 }, 1, ['x'], T0 + s)).toBeNull();
  });
});

describe('dropouts', () => {
  it('are contiguous intervals of bounded length, consistent at every instant inside', () => {
    let total = 0;
    for (let device = 0; device < 40; device++) {
      let current: { startMs: number; endMs: number } | null = null;
      for (let t = T0; t < T0 + 4 * HOUR; t += 500) {
        const d = dropoutAt(config, device, t);
        if (d) {
          expect(t).toBeGreaterThanOrEqual(d.startMs);
          expect(t).toBeLessThan(d.endMs);
          expect(d.endMs - d.startMs).toBeLessThanOrEqual(config.dropoutMaxMs + 1);
          expect(d.endMs - d.startMs).toBeGreaterThanOrEqual(0.2 * config.dropoutMaxMs - 1);
          if (!current || current.startMs !== d.startMs) total++;
          current = d;
        }
      }
    }
    // 160 device-hours at 1 per hour.
    expect(total).toBeGreaterThan(100);
    expect(total).toBeLessThan(230);
  });
});

describe('clock skew and phases', () => {
  it('keeps most clocks within 300 ms and all within 20 s', () => {
    const skews = Array.from({ length: 2000 }, (_, d) => clockSkewMs(9, d));
    expect(skews.every((s) => Math.abs(s) <= 20_000)).toBe(true);
    expect(skews.filter((s) => Math.abs(s) <= 300).length).toBeGreaterThan(1700);
    expect(skews.some((s) => Math.abs(s) > 1000)).toBe(true);
    expect(clockSkewMs(9, 5)).toBe(skews[5]);
  });

  it('spreads sample phases over the period', () => {
    const phases = Array.from({ length: 1000 }, (_, d) => samplePhaseMs(1, d, 1000));
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThan(1000);
    expect(phases.filter((p) => p < 500).length).toBeGreaterThan(400);
  });
});

describe('reading sampler', () => {
  const sampler = createReadingSampler({
    model: config,
    metrics: ['temperature', 'humidity'],
    batch: 4,
    periodMs: 1000,
  });

  it('spaces a batch over the period before the due time, with the device clock skew', () => {
    const device = { index: 3, skewMs: 250, lastTs: 0 };
    const readings = sampler.sample(device, T0 + 10_000);
    expect(readings.map((r) => r.ts)).toEqual([
      T0 + 9250 + 250 - 0,
      T0 + 9500 + 250,
      T0 + 9750 + 250,
      T0 + 10_250,
    ]);
    expect(readings[3]?.values.temperature).toBe(sensorValue(7, 3, 'temperature', T0 + 10_000));
  });

  it('never repeats a timestamp for a device, even when asked for the same instant', () => {
    const device = { index: 1, skewMs: 0, lastTs: 0 };
    const a = sampler.sample(device, T0);
    const b = sampler.sample(device, T0);
    const ts = [...a, ...b].map((r) => r.ts);
    expect(new Set(ts).size).toBe(ts.length);
    expect([...ts].sort((x, y) => x - y)).toEqual(ts);
  });

  it('encodes one reading as an object, several as an array, and never leaks the spike marker', () => {
    const r = {
      ts: T0,
      values: { temperature: 1, humidity: 2 },
      spike: { metric: 'temperature', value: 1, expected: 0 },
    };
    expect(JSON.parse(sampler.encode([r], false))).toEqual({
      ts: T0,
      values: { temperature: 1, humidity: 2 },
    });
    expect(JSON.parse(sampler.encode([r], true))).toEqual([
      { ts: T0, values: { temperature: 1, humidity: 2 } },
    ]);
    expect(sampler.valueCount([r, r])).toBe(4);
  });
});
