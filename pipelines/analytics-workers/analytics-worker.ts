// Piscina worker entry: one task is one batch of readings (a closed minute
// or the late corrections of a tick), never one reading: a task has to be
// worth the postMessage. The result's typed arrays are moved back, not cloned.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { lowerThreadPriority } from '../../core/background-priority.js';
import { buffersOf } from '../../core/rollup-columns.js';
import { computeWindows, type WindowResult, type WindowTask } from './window-compute.js';

// A closed minute can wait a few milliseconds; an ack should not.
lowerThreadPriority();

export default function analyticsTask(task: WindowTask): unknown {
  const result = computeWindows(task);
  return move({
    get [transferableSymbol]() {
      return [
        ...buffersOf(result.states),
        ...buffersOf(result.anomalies),
        result.detector.buffer as ArrayBuffer,
      ];
    },
    get [valueSymbol](): WindowResult {
      return result;
    },
  });
}
