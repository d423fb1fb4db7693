// Scenario "sketches": the project's DDSketch (core/ddsketch.ts) against
// @datadog/sketches-js, the maintained implementation of the same algorithm,
// on what a rollup rewrite does with them: 15,000 series × 60 readings added,
// each sketch encoded for storage, then all decoded and merged into one (a
// fleet-wide query). Same relative accuracy (1 %), same values, one process.

import { parseArgs } from 'node:util';
import { DDSketch as Ours } from '../core/ddsketch.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

interface Sketcher<S> {
  make(): S;
  add(s: S, v: number): void;
  encode(s: S): Uint8Array;
  decode(b: Uint8Array): S;
  merge(into: S, other: S): void;
}

function run<S>(k: Sketcher<S>, values: Float64Array, series: number, perSeries: number) {
  let t = performance.now();
  const sketches: S[] = [];
  for (let s = 0; s < series; s++) {
    const x = k.make();
    for (let i = 0; i < perSeries; i++) k.add(x, values[s * perSeries + i]!);
    sketches.push(x);
  }
  const add = performance.now() - t;
  t = performance.now();
  const bytes = sketches.map((x) => k.encode(x));
  const encode = performance.now() - t;
  t = performance.now();
  const all = k.make();
  for (const b of bytes) k.merge(all, k.decode(b));
  const merge = performance.now() - t;
  return { add, encode, merge, bytes: bytes.reduce((n, b) => n + b.byteLength, 0) / series };
}

/** one line for `npm run bench -- --help` */
export const about =
  "the project's DDSketch against @datadog/sketches-js: add, encode, decode and merge, at the same accuracy";

export const options = {
  repeats: { type: 'string', default: '5' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const { DDSketch: Datadog } = (await import('@datadog/sketches-js')).default;
  type D = InstanceType<typeof Datadog>;
  const ours: Sketcher<Ours> = {
    make: () => new Ours(),
    add: (s, v) => s.add(v),
    encode: (s) => s.encode(),
    decode: (b) => Ours.decode(b),
    merge: (a, b) => a.merge(b),
  };
  const datadog: Sketcher<D> = {
    make: () => new Datadog({ relativeAccuracy: 0.01 }),
    add: (s, v) => s.accept(v),
    encode: (s) => s.toProto(),
    decode: (b) => Datadog.fromProto(b),
    merge: (a, b) => a.merge(b),
  };
  const series = 15_000;
  const perSeries = 60;
  const data = Float64Array.from(
    { length: series * perSeries },
    (_, i) => 20 + 5 * Math.sin(i) + (i % 13) / 10,
  );
  const results = { ours: [] as ReturnType<typeof run>[], datadog: [] as ReturnType<typeof run>[] };
  for (let r = 0; r < Number(values.repeats); r++) {
    results.ours.push(run(ours, data, series, perSeries));
    results.datadog.push(run(datadog, data, series, perSeries));
  }
  const row = (name: string, rs: ReturnType<typeof run>[]) =>
    `| ${name} | ${median(rs.map((r) => r.add)).toFixed(0)} | ${median(rs.map((r) => r.encode)).toFixed(0)} | ${median(rs.map((r) => r.merge)).toFixed(0)} | ${rs[0]!.bytes.toFixed(0)} |`;
  process.stdout.write(
    [
      `${series} series × ${perSeries} readings, medians of ${values.repeats} interleaved runs (ms)`,
      '| sketch | add | encode | decode + merge | bytes per sketch |',
      '| --- | --- | --- | --- | --- |',
      row('core/ddsketch.ts', results.ours),
      row('@datadog/sketches-js 2.1.1', results.datadog),
      '',
    ].join('\n'),
  );
}
