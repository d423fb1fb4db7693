import { describe, expect, it } from 'vitest';
import { createStallSplitter, openCpuWaitReader, startStallSampler } from '../../gateway/cpu-wait.js';
import { createEventLoopMonitor } from '../../gateway/event-loop-monitor.js';

describe('stall splitter', () => {
  it("splits each tick's lateness into the wait for a core and the loop's own busy time", () => {
    const s = createStallSplitter(20);
    s.tick(0, 0);
    s.tick(20, 0); // on time
    s.tick(90, 40e6); // 50 ms late, 40 of them waiting for a core: 10 busy
    s.tick(140, 45e6); // 30 ms late, 5 waiting: 25 busy
    s.tick(160, 45e6);
    expect(s.rotate()).toEqual({ cpuWaitMs: 45, cpuWaitMaxMs: 40, busyMaxMs: 25 });
    // a new window starts empty and keeps the last tick as its origin
    s.tick(200, 95e6); // 20 ms late, all of it (and more) a wait: busy is 0, not negative
    expect(s.rotate()).toEqual({ cpuWaitMs: 50, cpuWaitMaxMs: 50, busyMaxMs: 0 });
    expect(s.rotate()).toEqual({ cpuWaitMs: 0, cpuWaitMaxMs: 0, busyMaxMs: 0 });
  });
});

describe.runIf(process.platform === 'linux')('cpu wait reader on Linux', () => {
  it('reads a run-queue wait counter that never goes back', () => {
    const read = openCpuWaitReader();
    expect(read).toBeDefined();
    const first = read!();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    expect(x).toBeGreaterThan(0);
    const second = read!();
    expect(Number.isInteger(first)).toBe(true);
    expect(second).toBeGreaterThanOrEqual(first);
    read!.close();
  });

  it("puts a blocked loop's stall in the window's split", async () => {
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    // the timers phase runs the due 5 ms tick before this zero timeout
    const nextTimers = () => new Promise((resolve) => setTimeout(resolve, 0));
    const monitor = createEventLoopMonitor(10, startStallSampler(5));
    spin(10);
    await nextTimers(); // the first tick: the origin
    spin(60);
    await nextTimers(); // about 55 ms late, busy or waiting for a core
    const w = monitor.rotate();
    monitor.stop();
    expect(w.split).toBeDefined();
    expect(w.split!.busyMaxMs + w.split!.cpuWaitMaxMs).toBeGreaterThanOrEqual(50);
    expect(w.split!.busyMaxMs).toBeLessThan(1000);
  });
});
