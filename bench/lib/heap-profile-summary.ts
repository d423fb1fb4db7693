#!/usr/bin/env node
// Sums a V8 sampling heap profile (.heapprofile, e.g. from major-gc-sampler.ts)
// by allocation site: the function that allocated, and the call path to it.
// `node build/bench/lib/heap-profile-summary.js <file> [sites]`

import { readFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: ProfileNode[];
}

const [file, topText = '15'] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: heap-profile-summary <file.heapprofile> [sites]\n');
  process.exit(2);
}
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };

const label = ({ callFrame: f }: ProfileNode) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/build\//, '').replace(/.*node_modules\//, '')}:${f.lineNumber + 1}`;
const bySite = new Map<string, number>();
const byPath = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode, path: string[]) => {
  const here = [...path, label(node)];
  if (node.selfSize > 0) {
    total += node.selfSize;
    bySite.set(label(node), (bySite.get(label(node)) ?? 0) + node.selfSize);
    const key = here.slice(-3).reverse().join(' < ');
    byPath.set(key, (byPath.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children ?? []) walk(child, here);
};
walk(head, []);

const top = Number(topText);
const show = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, bytes] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${key}`);
};
console.log(`${(total / 1e6).toFixed(1)} MB sampled`);
show('by allocating function', bySite);
show('by call path (innermost first)', byPath);
