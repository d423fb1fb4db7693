// Piscina worker entry: one task is the committed readings of one or more
// batches, never one reading: a task has to be worth the postMessage. The
// result's typed arrays are moved back, not cloned.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { lowerThreadPriority } from '../../core/background-priority.js';
import { type ScoreResult, type ScoreTask, scoreReadings } from './score-readings.js';

// Scoring can wait a few milliseconds; an ack should not.
lowerThreadPriority();

export default function analyticsTask(task: ScoreTask): unknown {
  const result = scoreReadings(task);
  return move({
    get [transferableSymbol]() {
      const buffers = new Set<ArrayBuffer>();
      for (const column of [...Object.values(result.alerts), result.state]) {
        if (column.buffer instanceof ArrayBuffer) buffers.add(column.buffer);
      }
      return [...buffers];
    },
    get [valueSymbol](): ScoreResult {
      return result;
    },
  });
}
