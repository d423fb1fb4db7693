// `npm run bench` help and option errors; no benchmark runs here.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/lib/bench-cli.js';
import type { Scenario } from '../../bench/lib/scenario.js';
import { SCENARIOS } from '../../bench/scenarios.js';

const RUN = fileURLToPath(new URL('../../build/bench/run.js', import.meta.url));

async function bench(argv: string[], scenarios: Record<string, () => Promise<Scenario>> = SCENARIOS) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(
    argv,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    scenarios,
  );
  return { code, stdout, stderr };
}

const flags = async (name: string) => Object.keys((await SCENARIOS[name]!()).options).map((o) => `--${o}`);

/** A scenario that must not run: help and usage errors never reach main. */
const notRun: Scenario = {
  about: 'a scenario for the test',
  options: { count: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } },
  main: () => Promise.reject(new Error('main ran')),
};

describe('npm run bench', () => {
  it.each(Object.keys(SCENARIOS))(
    '%s --help prints its usage with every option and exits 0',
    async (name) => {
      for (const help of ['--help', '-h']) {
        const r = await bench([name, help]);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        for (const flag of await flags(name)) expect(r.stdout).toContain(flag);
      }
    },
  );

  it('--help alone lists every scenario with its options and exits 0', async () => {
    const r = await bench(['--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    for (const name of Object.keys(SCENARIOS)) {
      expect(r.stdout).toContain(`\n${name}: `);
      for (const flag of await flags(name)) expect(r.stdout).toContain(flag);
    }
  });

  it('shows defaults, and never runs the scenario for help or a bad option', async () => {
    const help = await bench(['fake', '--help'], { fake: async () => notRun });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--count <value> +default 3\n/);
    expect(help.stdout).toMatch(/--quick\n/);
    const bad = await bench(['fake', '--bogus'], { fake: async () => notRun });
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^GW_ERR_CLI_USAGE: /);
  });

  it('exits 2 with the usage for no scenario, an unknown one, or a bad option', async () => {
    expect(await bench([])).toMatchObject({ code: 2, stdout: '' });
    const unknown = await bench(['nope']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^GW_ERR_CLI_USAGE: /);
    const bad = await bench(['steady', '--devices']);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^GW_ERR_CLI_USAGE: /);
  });

  it('the built CLI prints the usage for steady --help, no stack trace', () => {
    const r = spawnSync(process.execPath, [RUN, 'steady', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: npm run bench -- steady/);
  });
});
