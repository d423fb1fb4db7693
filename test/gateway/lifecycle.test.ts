import { describe, expect, it } from 'vitest';
import { createLifecycle, STOP_PHASES, type Started } from '../../gateway/steps/lifecycle.js';

/** A step that records each of its hooks as `name:hook`. */
const recorded = (log: string[], name: string, async = false): Started<{ name: string }> => {
  const hook = (what: string) =>
    async ? async () => void log.push(`${name}:${what}`) : () => void log.push(`${name}:${what}`);
  return {
    provides: { name },
    open: () => void log.push(`${name}:open`),
    stop: Object.fromEntries(STOP_PHASES.map((phase) => [phase, hook(phase)])),
  };
};

describe('lifecycle', () => {
  it('starts in order, opens in order, and stops phase by phase in reverse', async () => {
    const log: string[] = [];
    const lifecycle = createLifecycle();
    expect(await lifecycle.start(recorded(log, 'a'))).toEqual({ name: 'a' });
    await lifecycle.start(Promise.resolve(recorded(log, 'b', true)));
    expect(lifecycle.ready()).toBe(false);
    lifecycle.open();
    expect(lifecycle.ready()).toBe(true);
    expect(log.splice(0)).toEqual(['a:open', 'b:open']);

    const first = lifecycle.stop();
    expect(lifecycle.stop()).toBe(first);
    expect(lifecycle.stopping()).toBe(true);
    expect(lifecycle.ready()).toBe(false);
    await first;
    expect(log).toEqual([
      'b:refuse',
      'a:refuse',
      'b:drain',
      'a:drain',
      'b:disconnect',
      'a:disconnect',
      'b:close',
      'a:close',
    ]);
  });

  it('runs hooks that return nothing without yielding, so the refusals share one turn', () => {
    const log: string[] = [];
    const lifecycle = createLifecycle();
    const sync = recorded(log, 'sync');
    return lifecycle
      .start(sync)
      .then(() => lifecycle.start(recorded(log, 'also')))
      .then(() => {
        void lifecycle.stop();
        // Every phase of synchronous hooks has run before stop() returned.
        expect(log).toHaveLength(4 * 2);
      });
  });

  it('stops only the steps started before a failure', async () => {
    const log: string[] = [];
    const lifecycle = createLifecycle();
    await lifecycle.start(recorded(log, 'a'));
    const failing = Promise.reject(Object.assign(new Error('bind'), { code: 'GW_ERR_PORT_IN_USE' }));
    await expect(lifecycle.start(failing)).rejects.toMatchObject({ code: 'GW_ERR_PORT_IN_USE' });
    await lifecycle.stop();
    expect(log).toEqual(['a:refuse', 'a:drain', 'a:disconnect', 'a:close']);
  });
});
