// A preload for a Node.js peer (`saturate --node-args=--import=<this file, built>`):
// samples the allocations that survive the young generation and are then
// collected by a major GC, the garbage that costs V8's Mark-Compacts and
// their helper threads. V8's sampling heap profiler keeps such objects in its
// profile when asked to (includeObjectsCollectedByMajorGC), where a heap
// snapshot would show only what is still alive. Sampling starts
// MAJOR_GC_SAMPLE_AFTER_S seconds in (default 8: after the connections and
// warm-up) and lasts MAJOR_GC_SAMPLE_FOR_S (default 10); the profile goes to
// MAJOR_GC_PROFILE (a .heapprofile file, for `heap-profile-summary.js` or
// Chrome's DevTools). Without MAJOR_GC_PROFILE it does nothing. With
// MAJOR_GC_SAMPLE_YOUNG=1 the objects that die young are sampled too: then
// the profile is all the allocation of those seconds, by site.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.MAJOR_GC_PROFILE;
if (out !== undefined && out !== '') {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  const after = Number(process.env.MAJOR_GC_SAMPLE_AFTER_S ?? 8) * 1000;
  const during = Number(process.env.MAJOR_GC_SAMPLE_FOR_S ?? 10) * 1000;
  const sample = async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.MAJOR_GC_SAMPLE_YOUNG === '1',
    });
    await new Promise((resolve) => setTimeout(resolve, during).unref());
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
    writeFileSync(out, JSON.stringify(profile));
    process.stderr.write(`major-gc-sampler: wrote ${out}\n`);
  };
  setTimeout(() => {
    sample().catch((err: unknown) => process.stderr.write(`major-gc-sampler: ${String(err)}\n`));
  }, after).unref();
}
