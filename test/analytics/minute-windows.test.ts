import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { ReadingChunk } from '../../pipelines/analytics/committed-readings.js';
import { minuteWindows, type WindowBatch } from '../../pipelines/analytics/minute-windows.js';

const chunk = (rows: Array<[series: number, ts: number, value: number]>): ReadingChunk => ({
  series: Uint32Array.from(rows.map((r) => r[0])),
  ts: Float64Array.from(rows.map((r) => r[1])),
  value: Float64Array.from(rows.map((r) => r[2])),
});

const batch = (
  kind: WindowBatch['kind'],
  rows: Array<[number, number, number]>,
  minute?: number,
): WindowBatch => ({
  kind,
  ...(minute === undefined ? {} : { minute }),
  ...chunk(rows),
});

function setup() {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const tooLate: number[] = [];
  const windows = () =>
    minuteWindows({
      latenessMs: 120_000,
      emitDelayMs: 5_000,
      tickMs: 1_000,
      scheduler,
      tooLate: (n) => tooLate.push(n),
    });
  return { scheduler, tooLate, windows };
}

describe('minuteWindows', () => {
  it('closes each minute after its end plus the delay, routes late readings to corrections, counts the too late', () => {
    const { scheduler, tooLate, windows } = setup();
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot<ReadingChunk>('1000ms a 69499ms b 129999ms c 9499ms |', {
        // minute 0, out of order within the minute, two series
        a: chunk([
          [1, 2_000, 20],
          [0, 1_000, 10],
        ]),
        // minute 0 closed at 65 s: a correction; minute 1 still open
        b: chunk([
          [0, 30_000, 11],
          [0, 65_000, 12],
        ]),
        // minute 0 is past its lateness (0 + 60 s + 120 s <= 200.5 s); minute 3 is open
        c: chunk([
          [0, 10_000, 13],
          [1, 200_000, 21],
        ]),
      });
      expectObservable(source.pipe(windows())).toBe('65000ms x 5999ms y 53999ms z 84999ms (w|)', {
        x: batch(
          'close',
          [
            [1, 2_000, 20],
            [0, 1_000, 10],
          ],
          0,
        ),
        y: batch('late', [[0, 30_000, 11]]),
        z: batch('close', [[0, 65_000, 12]], 60_000),
        // completion closes what is still open
        w: batch('close', [[1, 200_000, 21]], 180_000),
      });
    });
    expect(tooLate).toEqual([1]);
  });

  it('emits nothing for an empty source and passes errors on', () => {
    const { scheduler, windows } = setup();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<ReadingChunk>('5000ms |').pipe(windows())).toBe('5000ms |');
      expectObservable(cold<ReadingChunk>('-#').pipe(windows())).toBe('-#');
    });
  });

  it('stops its ticks when unsubscribed early, without flushing', () => {
    const { scheduler, windows } = setup();
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot<ReadingChunk>('1000ms a', { a: chunk([[0, 1_000, 1]]) });
      expectObservable(source.pipe(windows()), '^ 30000ms !').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^ 30000ms !');
    });
  });
});
