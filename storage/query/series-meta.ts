// Series metadata (unit, device class) in query answers, alike on both backends.
import type { LatestReading } from '../query-port.js';

export interface SeriesMetaRow {
  unit: string | null;
  deviceClass: string | null;
}

/** Adds unit and deviceClass where the series has them; absent, not null, where it has not. */
export function withMeta(reading: LatestReading, row: SeriesMetaRow): LatestReading {
  if (row.unit !== null) reading.unit = row.unit;
  if (row.deviceClass !== null) reading.deviceClass = row.deviceClass;
  return reading;
}

/** The matched series' units as min and max: one unit when they agree. */
export interface MatchedSeries {
  n: number;
  lo: string | null;
  hi: string | null;
}

export function agreedUnit(m: MatchedSeries): { unit?: string } {
  return m.lo !== null && m.lo === m.hi ? { unit: m.lo } : {};
}
