import { defer, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { coalesceWhileBusy } from '../../pipelines/coalesce-while-busy.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const concat = (pending: string, next: string) => pending + next;

describe('coalesceWhileBusy', () => {
  it('emits nothing for an empty stream and completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<string>('---|');
      expectObservable(src.pipe(coalesceWhileBusy(concat, (v) => cold('-x|', { x: v })))).toBe('---|');
    });
  });

  it('projects each value at once while idle, in order', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const src = hot('-a---b---|');
      const out = src.pipe(coalesceWhileBusy(concat, (v) => cold('-x|', { x: v })));
      expectObservable(out).toBe('--a---b--|');
    });
  });

  it('merges what arrives while a projection runs into one, projected as soon as it completes', () => {
    const s = scheduler();
    const projected: string[] = [];
    let running = 0;
    let most = 0;
    s.run(({ hot, cold, expectObservable }) => {
      const src = hot('-abc-----d--|');
      const out = src.pipe(
        coalesceWhileBusy(concat, (v) =>
          defer(() => {
            projected.push(v);
            most = Math.max(most, ++running);
            return cold('----(x|)', { x: v }).pipe(tap({ complete: () => running-- }));
          }),
        ),
      );
      // a runs 1-5; b and c wait as one, run 5-9; d arrives at 9 as bc completes, runs 9-13.
      expectObservable(out).toBe('-----a---b---(d|)', { a: 'a', b: 'bc', d: 'd' });
    });
    expect(projected).toEqual(['a', 'bc', 'd']);
    expect(most).toBe(1);
  });

  it('completes only after the running and the pending projection finish (drain)', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const src = hot('-ab|');
      const out = src.pipe(coalesceWhileBusy(concat, (v) => cold('----(x|)', { x: v })));
      expectObservable(out).toBe('-----a---(b|)', { a: 'a', b: 'b' });
    });
  });

  it('propagates a source error at once, dropping the pending value and the running projection', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const src = hot('-ab#');
      const inner = cold('----(x|)');
      const out = src.pipe(coalesceWhileBusy(concat, () => inner));
      expectObservable(out).toBe('---#');
      expectSubscriptions(inner.subscriptions).toBe('-^-!');
    });
  });

  it('propagates a projection error', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const src = hot('-a--b----|');
      const out = src.pipe(
        coalesceWhileBusy(concat, (v) => (v === 'b' ? cold<string>('-#') : cold('-(x|)', { x: v }))),
      );
      expectObservable(out).toBe('--a--#');
    });
  });

  it('unsubscribes from the source and the running projection when unsubscribed early', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const src = hot('-a-b-----c');
      const inner = cold('-----(x|)');
      const out = src.pipe(coalesceWhileBusy(concat, () => inner));
      expectObservable(out, '^---!').toBe('-----');
      expectSubscriptions(src.subscriptions).toBe('^---!');
      expectSubscriptions(inner.subscriptions).toBe('-^--!');
    });
  });
});
