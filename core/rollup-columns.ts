// Rollup states as columns: how they leave a pool worker (moved, not
// copied) and how the writer receives them (storage/port.ts RollupColumns).

import { DDSketch } from './ddsketch.js';
import type { RollupState } from './rollup-state.js';

export interface RollupColumns {
  devices: string[];
  metrics: string[];
  deviceIndex: Uint32Array;
  metricIndex: Uint32Array;
  /** epoch ms, a multiple of 60 000 */
  bucket: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  /** sum of squared deviations from the mean (Chan et al. merge) */
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
  firstTs: Float64Array;
  first: Float64Array;
  lastTs: Float64Array;
  last: Float64Array;
  /** row i's DDSketch bytes are sketches.subarray(sketchOffsets[i], sketchOffsets[i + 1]) */
  sketchOffsets: Uint32Array;
  sketches: Uint8Array;
}

/** Like RollupColumns, but rows name the analytics' own series ids. */
export interface StateColumns {
  series: Uint32Array;
  bucket: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
  firstTs: Float64Array;
  first: Float64Array;
  lastTs: Float64Array;
  last: Float64Array;
  sketchOffsets: Uint32Array;
  sketches: Uint8Array;
}

const NUMERIC = ['count', 'sum', 'm2', 'min', 'max', 'firstTs', 'first', 'lastTs', 'last'] as const;

export function encodeStates(series: number[], bucket: number[], states: RollupState[]): StateColumns {
  const n = states.length;
  const columns = {
    series: Uint32Array.from(series),
    bucket: Float64Array.from(bucket),
    sketchOffsets: new Uint32Array(n + 1),
  } as StateColumns;
  for (const name of NUMERIC) columns[name] = new Float64Array(n);
  const encoded: Uint8Array[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const state = states[i]!;
    for (const name of NUMERIC) columns[name][i] = state[name];
    const sketch = state.sketch.encode();
    encoded.push(sketch);
    bytes += sketch.byteLength;
    columns.sketchOffsets[i + 1] = bytes;
  }
  columns.sketches = new Uint8Array(bytes);
  for (let i = 0; i < n; i++) columns.sketches.set(encoded[i]!, columns.sketchOffsets[i]!);
  return columns;
}

export function stateAt(columns: StateColumns | RollupColumns, i: number): RollupState {
  return {
    count: columns.count[i]!,
    sum: columns.sum[i]!,
    m2: columns.m2[i]!,
    min: columns.min[i]!,
    max: columns.max[i]!,
    firstTs: columns.firstTs[i]!,
    first: columns.first[i]!,
    lastTs: columns.lastTs[i]!,
    last: columns.last[i]!,
    sketch: DDSketch.decode(
      columns.sketches.subarray(columns.sketchOffsets[i]!, columns.sketchOffsets[i + 1]!),
    ),
  };
}

/** Every buffer the columns own, for a transfer list. */
export function buffersOf(columns: object): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const value of Object.values(columns)) {
    if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) buffers.add(value.buffer);
  }
  return [...buffers];
}

/**
 * Names the series for storage: the writer knows devices and metrics, not the
 * analytics' series ids. `deviceOf`/`metricOf` give each series' index into
 * the `devices`/`metrics` dictionaries passed along.
 */
export function toRollupColumns(
  states: StateColumns,
  names: { devices: string[]; metrics: string[]; deviceOf: Uint32Array; metricOf: Uint32Array },
): RollupColumns {
  const n = states.series.length;
  const deviceIndex = new Uint32Array(n);
  const metricIndex = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = states.series[i]!;
    deviceIndex[i] = names.deviceOf[s]!;
    metricIndex[i] = names.metricOf[s]!;
  }
  const { series: _series, ...rest } = states;
  return { devices: names.devices, metrics: names.metrics, deviceIndex, metricIndex, ...rest };
}

/**
 * Rows [from, to) as columns of their own (copied, so a clone to the writer
 * carries only these rows). The writer merges about 40 rows per millisecond,
 * so the analytics write a closed minute in slices that ingest batches can
 * pass between, instead of one transaction that holds every ack behind it.
 */
export function sliceRollups(columns: RollupColumns, from: number, to: number): RollupColumns {
  const base = columns.sketchOffsets[from]!;
  const sketchOffsets = columns.sketchOffsets.slice(from, to + 1);
  for (let i = 0; i < sketchOffsets.length; i++) sketchOffsets[i]! -= base;
  const out = {
    devices: columns.devices,
    metrics: columns.metrics,
    deviceIndex: columns.deviceIndex.slice(from, to),
    metricIndex: columns.metricIndex.slice(from, to),
    bucket: columns.bucket.slice(from, to),
    sketchOffsets,
    sketches: columns.sketches.slice(base, columns.sketchOffsets[to]!),
  } as RollupColumns;
  for (const name of NUMERIC) out[name] = columns[name].slice(from, to);
  return out;
}
