// Preloaded into a spawned gateway (NODE_OPTIONS --import) by
// writer-death.test.ts: the SQLite writer thread exits, as an out-of-memory
// or crashed native module would, on the first batch that carries readings,
// before committing it. Retention and analytics batches (no readings) pass.
// Never part of the product.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** The writer thread's workerData (storage/sqlite/protocol.ts WriterThreadOptions); other pools differ. */
function isWriterThread(data: unknown): boolean {
  const d = data as { path?: unknown; busyTimeoutMs?: unknown; cacheSize?: unknown } | null;
  return (
    typeof d?.path === 'string' && typeof d.busyTimeoutMs === 'number' && typeof d.cacheSize === 'number'
  );
}

if (!isMainThread && parentPort !== null && isWriterThread(workerData)) {
  // Added before writer-thread.ts adds its own listener, so this one runs first
  // and the thread is gone before the batch is applied.
  parentPort.on('message', (message: { type: string; batch?: { readings: { ts: Float64Array } } }) => {
    if (message.type === 'write' && (message.batch?.readings.ts.length ?? 0) > 0) process.exit(3);
  });
}
