// The query threads' scheduling policy, read back from the kernel: a worker
// moves itself to SCHED_IDLE, and the process's main thread keeps the normal
// policy.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../simulators/run-cli.js';

describe.runIf(process.platform === 'linux')('idleThreadPriority', () => {
  it('puts the calling worker thread, and only it, in SCHED_IDLE', () => {
    const module = pathToFileURL(join(ROOT, 'build/core/background-priority.js')).href;
    const script = `
      const { Worker } = require('node:worker_threads');
      const { execFileSync } = require('node:child_process');
      const policy = (tid) => execFileSync('chrt', ['--pid', String(tid)]).toString();
      const w = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        const { readlinkSync } = require('node:fs');
        const { execFileSync } = require('node:child_process');
        import('${module}').then((m) => {
          const tid = readlinkSync('/proc/thread-self').split('/').pop();
          const result = m.idleThreadPriority();
          parentPort.postMessage({ result, tid, worker: execFileSync('chrt', ['--pid', tid]).toString() });
        });\`, { eval: true });
      w.on('message', (m) => {
        console.log(JSON.stringify({ ...m, pid: process.pid, main: policy(process.pid) }));
        process.exit(0);
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script]).toString()) as {
      result: string;
      tid: string;
      pid: number;
      worker: string;
      main: string;
    };
    expect(out.result).toBe('idle');
    expect(out.tid).not.toBe(String(out.pid));
    expect(out.worker).toContain('SCHED_IDLE');
    expect(out.main).toContain('SCHED_OTHER');
  });
});
