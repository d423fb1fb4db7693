// How the sim and demo CLIs report a bad option: the code, then the message once.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { reportFailure } from '../../simulators/cli-exit.js';
import { parseDemoArgs } from '../../simulators/demo-options.js';
import { parseSimArgs } from '../../simulators/sim-options.js';

const built = (script: string) => fileURLToPath(new URL(`../../build/cli/${script}`, import.meta.url));
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, [built(script), ...args], { encoding: 'utf8' });

/** What node:util parseArgs itself says about these arguments. */
function parseArgsMessage(args: string[], options: Record<string, { type: 'string' }> = {}): string {
  try {
    parseArgs({ args, options, strict: true });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`parseArgs accepted ${args.join(' ')}`);
}

const thrown = (fn: () => unknown): GatewayError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('nothing was thrown');
};

const occurrences = (text: string, part: string) => text.split(part).length - 1;

function capture() {
  let stdout = '';
  let stderr = '';
  const stream = (write: (s: string) => void) =>
    ({
      write(s: string) {
        write(s);
        return true;
      },
    }) as never;
  return {
    streams: { stdout: stream((s) => (stdout += s)), stderr: stream((s) => (stderr += s)) },
    out: () => ({ stdout, stderr }),
  };
}

describe('a bad option', () => {
  it.each(['sim-cli.js', 'demo-cli.js'])('%s prints parseArgs message once, after the code', (script) => {
    for (const args of [['--bogus'], ['--devices', '-5']]) {
      const message = parseArgsMessage(args, { devices: { type: 'string' } });
      const r = run(script, args);
      expect(r.status).toBe(2);
      expect(r.stderr.startsWith('GW_ERR_CLI_USAGE: ')).toBe(true);
      expect(occurrences(r.stderr, message)).toBe(1);
    }
  });

  it('keeps a cause that says something the message does not', () => {
    const { streams, out } = capture();
    const err = new GatewayError('GW_ERR_SIM_CONNECT', ['mqtt://127.0.0.1:1'], {
      cause: new Error('connect ECONNREFUSED'),
    });
    expect(reportFailure(err, false, streams)).toBe(1);
    expect(occurrences(out().stderr, 'connect ECONNREFUSED')).toBe(1);
  });

  it('demo --devices=-5 gets the simulator own range check, not advice to type what was typed', () => {
    const demo = thrown(() => parseDemoArgs(['--devices=-5']));
    const sim = thrown(() => parseSimArgs(['--devices=-5']));
    expect(demo.code).toBe('GW_ERR_CLI_USAGE');
    expect(demo.message).toBe(sim.message);
    const r = run('demo-cli.js', ['--devices=-5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`GW_ERR_CLI_USAGE: ${sim.message}\n`);
  });

  it('demo forwards every simulator option, each checked by the simulator', () => {
    for (const name of ['devices', 'duration', 'rate', 'qos', 'seed', 'ramp']) {
      const demo = thrown(() => parseDemoArgs([`--${name}=-1`]));
      expect(demo.message, name).toBe(thrown(() => parseSimArgs([`--${name}=-1`])).message);
    }
  });
});
