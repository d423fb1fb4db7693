import { describe, expect, it } from 'vitest';
import { DDSketch, RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import { addReading, emptyState, mergeState, stddevOf } from '../../core/rollup-state.js';
import { mulberry32, randomValue } from './random.js';

const exactQuantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
const withinAccuracy = (estimate: number, exact: number) =>
  Math.abs(estimate - exact) <= RELATIVE_ACCURACY * Math.abs(exact) + 1e-12;

describe('DDSketch', () => {
  it('answers every quantile within its relative accuracy, for many random distributions', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = mulberry32(seed);
      const n = 1 + Math.floor(rand() * 2000);
      const values = Array.from({ length: n }, () => randomValue(rand, seed));
      const sketch = new DDSketch();
      for (const v of values) sketch.add(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        const estimate = sketch.quantile(q)!;
        expect(withinAccuracy(estimate, exactQuantile(sorted, q)), `seed ${seed} q ${q}`).toBe(true);
      }
    }
  });

  it('holds the same bins whatever the order of adds and the reads between them', () => {
    const rand = mulberry32(11);
    // Runs of one value (a steady sensor), of either sign and zero, and jumps between them.
    const values: number[] = [];
    for (let run = 0; run < 200; run++) {
      const v = [0, 20.1, -3.2, 1e-12, 1013.25][Math.floor(rand() * 5)]! * (1 + rand() * 0.001);
      for (let k = 1 + Math.floor(rand() * 8); k > 0; k--) values.push(v);
    }
    const steady = new DDSketch();
    const merged = new DDSketch();
    let part = new DDSketch();
    values.forEach((v, i) => {
      steady.add(v);
      // Reads in the middle of runs: each must see every add before it.
      if (i % 37 === 0) expect(steady.quantile(0.5)).not.toBeNull();
      if (i % 53 === 0) expect(DDSketch.decode(steady.encode()).count).toBe(i + 1);
      // Parts merged while a run is still owed to their last bin.
      part.add(v);
      if (i % 29 === 28) {
        merged.merge(part);
        part = new DDSketch();
      }
    });
    merged.merge(part);
    const shuffled = new DDSketch();
    for (const i of values.map((_, i) => i).sort(() => rand() - 0.5)) shuffled.add(values[i]!);
    const bins = Array.from(shuffled.encode());
    expect(Array.from(steady.encode())).toEqual(bins);
    expect(Array.from(merged.encode())).toEqual(bins);
    // mergeEncoded into a sketch with a run still owed.
    const half = new DDSketch();
    for (const v of values.slice(0, 100)) half.add(v);
    const rest = new DDSketch();
    for (const v of values.slice(100)) rest.add(v);
    half.mergeEncoded(rest.encode());
    expect(Array.from(half.encode())).toEqual(bins);
  });

  it('merges into the sketch of the union, and survives encode/decode unchanged', () => {
    const rand = mulberry32(7);
    const parts = Array.from({ length: 5 }, (_, p) =>
      Array.from({ length: 200 }, () => randomValue(rand, p) * (rand() < 0.3 ? -1 : 1)),
    );
    const whole = new DDSketch();
    const merged = new DDSketch();
    for (const part of parts) {
      const s = new DDSketch();
      for (const v of part) {
        s.add(v);
        whole.add(v);
      }
      merged.merge(DDSketch.decode(s.encode()));
    }
    expect(merged.count).toBe(1000);
    expect(merged.encode()).toEqual(whole.encode());
    const sorted = parts.flat().sort((a, b) => a - b);
    for (const q of [0.05, 0.5, 0.95])
      expect(withinAccuracy(merged.quantile(q)!, exactQuantile(sorted, q))).toBe(true);
  });

  it('is compact: a minute of one noisy sensor takes tens of bytes', () => {
    const rand = mulberry32(3);
    const s = new DDSketch();
    for (let i = 0; i < 60; i++) s.add(21 + (rand() - 0.5) * 0.3);
    expect(s.encode().byteLength).toBeLessThan(40);
    expect(new DDSketch().quantile(0.5)).toBeNull();
    expect(() => DDSketch.decode(new Uint8Array([9]))).toThrow(RangeError);
  });
});

describe('rollup state', () => {
  it('merged partial states equal the state of all readings (Chan et al.)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = mulberry32(seed);
      const values = Array.from({ length: 1 + Math.floor(rand() * 300) }, () => randomValue(rand, seed));
      const whole = emptyState();
      const merged = emptyState();
      let part = emptyState();
      values.forEach((v, i) => {
        addReading(whole, i, v);
        addReading(part, i, v);
        if (rand() < 0.1) {
          mergeState(merged, part);
          part = emptyState();
        }
      });
      mergeState(merged, part);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
      expect(merged.count).toBe(values.length);
      expect(merged.sum).toBeCloseTo(whole.sum, 6);
      expect(merged.min).toBe(Math.min(...values));
      expect(merged.max).toBe(Math.max(...values));
      expect(merged.first).toBe(values[0]);
      expect(merged.last).toBe(values.at(-1));
      if (values.length > 1) expect(stddevOf(merged)!).toBeCloseTo(Math.sqrt(variance), 6);
      else expect(stddevOf(merged)).toBeNull();
    }
  });
});
