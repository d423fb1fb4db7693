// Preloaded into a spawned gateway by the hostile tests (NODE_OPTIONS
// --import): on SIGUSR2 it runs a full GC and prints one JSON line with the
// RSS, so a test can compare memory that is still referenced, not memory
// the collector has not reached yet. Never part of the product.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

process.on('SIGUSR2', () => {
  gc();
  gc();
  process.stdout.write(
    `${JSON.stringify({ msg: 'gc done', rssKb: Math.round(process.memoryUsage().rss / 1024), heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024), externalKb: Math.round(process.memoryUsage().external / 1024) })}\n`,
  );
});
