import { describe, expect, it } from 'vitest';
import { SeriesIndex } from '../../storage/sqlite/rollups/series-index.js';
import { mulberry32 as random } from '../analytics/random.js';

/** Runs the same sets and deletes on an index and a Map, and checks every id either holds. */
function agreesWithMap(ids: () => number, operations: number, seed: number): SeriesIndex<number> {
  const next = random(seed);
  const index = new SeriesIndex<number>();
  const map = new Map<number, number>();
  for (let op = 0; op < operations; op++) {
    const id = ids();
    if (next() < 0.8) {
      index.set(id, op);
      map.set(id, op);
    } else expect(index.delete(id)).toBe(map.delete(id));
  }
  expect(index.size).toBe(map.size);
  expect([...index.entries]).toEqual([...map]);
  const probe = new Set([...map.keys(), ...Array.from({ length: 200 }, ids)]);
  for (const id of probe) {
    expect(index.get(id)).toBe(map.get(id));
    expect(index.has(id)).toBe(map.has(id));
  }
  return index;
}

describe('SeriesIndex', () => {
  it('answers as a Map does for a dense fleet of ids', () => {
    const next = random(1);
    expect(agreesWithMap(() => 1 + Math.floor(next() * 15_000), 60_000, 2).dense).toBe(true);
  });

  it('answers as a Map does for a few ids spread over millions', () => {
    const next = random(3);
    // No array as long as the ids: memory stays a Map's.
    expect(agreesWithMap(() => Math.floor(next() * 5_000_000), 2_000, 4).dense).toBe(false);
  });

  it('answers as a Map does when the ids grow past a dense start', () => {
    let id = 0;
    // Dense at first, then ids that leap far ahead (it falls back to its Map for good), then more above them.
    agreesWithMap(
      () => {
        id++;
        return id > 3_000 && id <= 3_100 ? 1_000_000 + id : id;
      },
      6_000,
      6,
    );
  });

  it('keeps the Map as the record, in the order ids were first set', () => {
    const index = new SeriesIndex<string>();
    for (let id = 200; id > 0; id--) index.set(id, `v${id}`);
    index.set(150, 'again');
    expect([...index.entries.keys()].slice(0, 3)).toEqual([200, 199, 198]);
    expect(index.get(150)).toBe('again');
    expect(index.delete(150)).toBe(true);
    expect(index.get(150)).toBeUndefined();
    expect(index.delete(150)).toBe(false);
    expect(index.size).toBe(199);
  });
});
