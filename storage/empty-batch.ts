import type { WriteBatch } from './port.js';

/** A batch with no readings, for writes that carry only rollups, anomalies or a prune step. */
export function emptyWriteBatch(): WriteBatch {
  return {
    readings: {
      devices: [],
      metrics: [],
      deviceIndex: new Uint32Array(0),
      metricIndex: new Uint32Array(0),
      ts: new Float64Array(0),
      value: new Float64Array(0),
    },
    deadLetters: [],
    devices: { deviceIndex: new Uint32Array(0), seenAt: new Float64Array(0) },
  };
}
