// A full garbage collection on demand, so an RSS comparison measures what is
// still referenced rather than what the collector has not got to yet.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects twice (the second pass frees what finalizers of the first released) and returns RSS in kB. */
export function collectedRssKb(): number {
  gc();
  gc();
  return Math.round(process.memoryUsage().rss / 1024);
}
