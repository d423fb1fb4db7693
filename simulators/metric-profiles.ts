// How each kind of sensor behaves. Numbers are plausible indoor/outdoor
// figures, not calibrated against any real device.

export interface MetricProfile {
  /** fleet-wide typical value */
  base: number;
  /** devices differ from base by up to ± this (installation, calibration) */
  baseSpread: number;
  /** half the day/night swing; negative when the metric peaks at night */
  diurnalAmplitude: number;
  /** local hour of the daily maximum */
  peakHour: number;
  /** standard deviation of reading-to-reading noise */
  noise: number;
  /** typical size of the slow wander over hours */
  drift: number;
  /** size of an injected spike (applied with a random sign unless upOnly) */
  spike: number;
  spikeUpOnly?: boolean;
  min?: number;
  max?: number;
  decimals: number;
}

const PROFILES: Readonly<Record<string, MetricProfile>> = {
  temperature: {
    base: 21,
    baseSpread: 3,
    diurnalAmplitude: 3,
    peakHour: 15,
    noise: 0.15,
    drift: 1,
    spike: 15,
    decimals: 2,
  },
  humidity: {
    base: 45,
    baseSpread: 10,
    diurnalAmplitude: -8,
    peakHour: 15,
    noise: 0.8,
    drift: 4,
    spike: 35,
    min: 0,
    max: 100,
    decimals: 1,
  },
  pressure: {
    base: 1013,
    baseSpread: 8,
    diurnalAmplitude: 0.8,
    peakHour: 10,
    noise: 0.15,
    drift: 5,
    spike: 30,
    decimals: 2,
  },
  co2: {
    base: 600,
    baseSpread: 150,
    diurnalAmplitude: 150,
    peakHour: 14,
    noise: 15,
    drift: 50,
    spike: 2000,
    spikeUpOnly: true,
    min: 350,
    decimals: 0,
  },
  light: {
    base: 300,
    baseSpread: 100,
    diurnalAmplitude: 300,
    peakHour: 13,
    noise: 10,
    drift: 30,
    spike: 5000,
    spikeUpOnly: true,
    min: 0,
    decimals: 0,
  },
  voltage: {
    base: 3.7,
    baseSpread: 0.1,
    diurnalAmplitude: 0.02,
    peakHour: 13,
    noise: 0.01,
    drift: 0.05,
    spike: 1,
    decimals: 3,
  },
};

/** Any metric name outside the table gets this generic shape. */
const GENERIC: MetricProfile = {
  base: 50,
  baseSpread: 10,
  diurnalAmplitude: 10,
  peakHour: 14,
  noise: 1,
  drift: 5,
  spike: 40,
  decimals: 2,
};

export const KNOWN_METRICS: readonly string[] = Object.keys(PROFILES);

export function profileFor(metric: string): MetricProfile {
  return Object.hasOwn(PROFILES, metric) ? (PROFILES[metric] as MetricProfile) : GENERIC;
}
