import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batchByWeight } from '../../pipelines/batch-by-weight.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const weights: Record<string, number> = { a: 1, b: 1, c: 1, d: 1, h: 3, x: 5 };
const op = (s: TestScheduler, maxWeight = 3, maxDelayMs = 5) =>
  batchByWeight<string>({ maxWeight, maxDelayMs, weight: (v) => weights[v] ?? 1, scheduler: s });

describe('batchByWeight', () => {
  it('emits nothing for an empty stream and completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('---|').pipe(op(scheduler()))).toBe('---|');
    });
  });

  it('cuts a batch when the weight is reached, before the timer', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-c-d----|');
      expectObservable(src.pipe(op(s, 3, 10))).toBe('-----x------(y|)', { x: ['a', 'b', 'c'], y: ['d'] });
      expectSubscriptions(src.subscriptions).toBe('^-----------!');
    });
  });

  it('cuts a batch maxDelayMs after its first item, not on a fixed grid', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      // first item at 2, timer 5 → emits at 7; next batch starts at 9 → emits at 14.
      const src = hot('--a-b----c-------|');
      expectObservable(src.pipe(op(s, 100, 5))).toBe('-------x------y--|', { x: ['a', 'b'], y: ['c'] });
    });
  });

  it('cuts at once when one heavy item takes the batch over the limit', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const src = hot('-a-x-b---|');
      expectObservable(src.pipe(op(s, 3, 10))).toBe('---x-----(y|)', { x: ['a', 'x'], y: ['b'] });
    });
  });

  it('flushes what is buffered on completion (drain on shutdown)', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const src = hot('-a-b|');
      expectObservable(src.pipe(op(s, 100, 50))).toBe('----(x|)', { x: ['a', 'b'] });
    });
  });

  it('propagates an error and drops the buffer', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const src = hot('-a-#');
      expectObservable(src.pipe(op(s, 100, 50))).toBe('---#');
    });
  });

  it('stops its timer when unsubscribed early', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-----c');
      expectObservable(src.pipe(op(s, 100, 5)), '^--!').toBe('----');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});
