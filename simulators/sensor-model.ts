// Sensor models as pure functions of (seed, device, time): the simulator can
// ask for any reading in any order, a rerun with the same seed reproduces the
// same values for the same instants, and tests need no clock.

import { type MetricProfile, profileFor } from './metric-profiles.js';
import { gaussian, hash32, stringHash, unit } from './seeded-hash.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DRIFT_KNOT_MS = 6 * HOUR_MS;

// Salts keep the streams of different phenomena independent of each other.
const SALT_BASE = 1;
const SALT_TZ = 2;
const SALT_DRIFT = 3;
const SALT_NOISE = 4;
const SALT_SPIKE = 5;
const SALT_SPIKE_METRIC = 6;
const SALT_SPIKE_SIZE = 7;
const SALT_DROPOUT = 8;
const SALT_SKEW = 9;
const SALT_PHASE = 10;

export interface ModelConfig {
  seed: number;
  /** reading instants per device per second (each reading carries every metric) */
  readingsPerSecond: number;
  spikesPerDeviceHour: number;
  dropoutsPerDeviceHour: number;
  /** the longest dropout; each lasts between a fifth of this and all of it */
  dropoutMaxMs: number;
}

export interface Spike {
  metric: string;
  value: number;
  /** what the sensor would have read without the spike */
  expected: number;
}

export interface Dropout {
  startMs: number;
  endMs: number;
}

function round(value: number, profile: MetricProfile): number {
  let v = value;
  if (profile.min !== undefined && v < profile.min) v = profile.min;
  if (profile.max !== undefined && v > profile.max) v = profile.max;
  const scale = 10 ** profile.decimals;
  return Math.round(v * scale) / scale;
}

/** Baseline + diurnal cycle + slow drift: what a noiseless sensor would read. */
export function expectedValue(seed: number, device: number, metric: string, tMs: number): number {
  const p = profileFor(metric);
  const m = stringHash(metric);
  const base = p.base + p.baseSpread * (2 * unit(seed, device, m, SALT_BASE) - 1);
  // Devices sit in different places: shift their local time by up to ±3 h.
  const tzShift = (unit(seed, device, SALT_TZ) - 0.5) * 6 * HOUR_MS;
  const hour = ((((tMs + tzShift) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  const diurnal = p.diurnalAmplitude * Math.cos((2 * Math.PI * (hour - p.peakHour)) / 24);
  // Drift: smooth value noise through random knots six hours apart.
  const knot = Math.floor(tMs / DRIFT_KNOT_MS);
  const f = (tMs - knot * DRIFT_KNOT_MS) / DRIFT_KNOT_MS;
  const a = gaussian(seed, device, m, knot, SALT_DRIFT);
  const b = gaussian(seed, device, m, knot + 1, SALT_DRIFT);
  const drift = p.drift * (a + ((b - a) * (1 - Math.cos(Math.PI * f))) / 2);
  return base + diurnal + drift;
}

/** A normal reading: the expected value plus per-reading noise, clamped and rounded like a sensor would. */
export function sensorValue(seed: number, device: number, metric: string, tMs: number): number {
  const p = profileFor(metric);
  const noise = p.noise * gaussian(seed, device, stringHash(metric), tMs, SALT_NOISE);
  return round(expectedValue(seed, device, metric, tMs) + noise, p);
}

/**
 * The injected anomaly at this reading instant, if any. At most one metric of
 * a reading spikes; over time a device spikes spikesPerDeviceHour times an hour.
 */
export function spikeAt(
  config: ModelConfig,
  device: number,
  metrics: readonly string[],
  tMs: number,
): Spike | null {
  if (metrics.length === 0 || config.spikesPerDeviceHour <= 0) return null;
  const probability = config.spikesPerDeviceHour / (3600 * config.readingsPerSecond);
  if (unit(config.seed, device, tMs, SALT_SPIKE) >= probability) return null;
  const metric = metrics[hash32(config.seed, device, tMs, SALT_SPIKE_METRIC) % metrics.length] as string;
  const p = profileFor(metric);
  const expected = sensorValue(config.seed, device, metric, tMs);
  const u = unit(config.seed, device, tMs, SALT_SPIKE_SIZE);
  const sign = p.spikeUpOnly || u < 0.5 ? 1 : -1;
  const size = p.spike * (0.7 + 0.6 * ((u * 2) % 1));
  return { metric, value: round(expected + sign * size, p), expected };
}

/**
 * The dropout covering tMs, if any. Time is cut into slots twice the longest
 * dropout; a slot holds at most one, entirely inside it, so one slot decides.
 */
export function dropoutAt(config: ModelConfig, device: number, tMs: number): Dropout | null {
  if (config.dropoutsPerDeviceHour <= 0 || config.dropoutMaxMs <= 0) return null;
  const slotMs = 2 * config.dropoutMaxMs;
  const slot = Math.floor(tMs / slotMs);
  const probability = Math.min(1, (config.dropoutsPerDeviceHour * slotMs) / HOUR_MS);
  if (unit(config.seed, device, slot, SALT_DROPOUT, 0) >= probability) return null;
  const length = config.dropoutMaxMs * (0.2 + 0.8 * unit(config.seed, device, slot, SALT_DROPOUT, 1));
  const startMs = Math.floor(
    slot * slotMs + unit(config.seed, device, slot, SALT_DROPOUT, 2) * (slotMs - length),
  );
  const endMs = Math.ceil(startMs + length);
  return tMs >= startMs && tMs < endMs ? { startMs, endMs } : null;
}

/**
 * How far the device's clock is off, in ms. Most are NTP-close; one in ten
 * was set by hand and is off by up to 20 s (well inside the gateway's window).
 */
export function clockSkewMs(seed: number, device: number): number {
  const careless = unit(seed, device, SALT_SKEW, 0) < 0.1;
  const range = careless ? 20_000 : 300;
  return Math.round(range * (2 * unit(seed, device, SALT_SKEW, 1) - 1));
}

/** Where in each period the device samples, in [0, periodMs): spreads load over the period. */
export function samplePhaseMs(seed: number, device: number, periodMs: number): number {
  return unit(seed, device, SALT_PHASE) * periodMs;
}
