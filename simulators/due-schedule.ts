// One shared clock for the whole fleet instead of a timer per device: devices
// are ordered by their phase within the period, and since every device keeps
// the same period that order never changes, so a cursor walking the ring finds
// everything due without scanning or a heap.

import { samplePhaseMs } from './sensor-model.js';

export interface DueSchedule {
  /** Calls visit(device, dueMs) for each device whose turn came at or before nowMs, oldest first. */
  takeDue(nowMs: number, visit: (device: number, dueMs: number) => void): number;
}

export function createDueSchedule(options: {
  devices: number;
  periodMs: number;
  startMs: number;
  seed: number;
}): DueSchedule {
  const { devices, periodMs, startMs, seed } = options;
  const nextDue = new Float64Array(devices);
  for (let d = 0; d < devices; d++) nextDue[d] = startMs + samplePhaseMs(seed, d, periodMs);
  const order = Uint32Array.from({ length: devices }, (_, d) => d).sort(
    (a, b) => (nextDue[a] as number) - (nextDue[b] as number),
  );
  let cursor = 0;
  // Bounds one call's work when the loop has stalled for many periods.
  const maxPerCall = devices * 4;

  return {
    takeDue(nowMs, visit) {
      let visited = 0;
      while (visited < maxPerCall) {
        const device = order[cursor] as number;
        const due = nextDue[device] as number;
        if (due > nowMs) break;
        nextDue[device] = due + periodMs;
        cursor = cursor + 1 === devices ? 0 : cursor + 1;
        visited++;
        visit(device, due);
      }
      return visited;
    },
  };
}
