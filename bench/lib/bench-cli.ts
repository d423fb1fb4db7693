// `npm run bench -- <scenario> [options]`, apart from process so tests can run
// it: --help (alone or after a scenario) prints the scenarios and their
// options; a bad option is a GW_ERR_CLI_USAGE line and the usage, not a stack trace.

import { parseArgs } from 'node:util';
import type { Scenario, ScenarioOptions } from './scenario.js';

export interface BenchIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const EXIT_OK = 0;
const EXIT_USAGE = 2;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** Resolves with the exit code; a scenario that fails while running rejects, as it always has. */
export async function runBench(
  argv: readonly string[],
  io: BenchIo,
  scenarios: Readonly<Record<string, () => Promise<Scenario>>>,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(await overview(scenarios));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const load = Object.hasOwn(scenarios, name) ? scenarios[name] : undefined;
  if (load === undefined) {
    io.stderr.write(`GW_ERR_CLI_USAGE: unknown scenario ${name}\n\n${await overview(scenarios)}`);
    return EXIT_USAGE;
  }
  const scenario = await load();
  let help: boolean | undefined;
  try {
    ({ help } = parseArgs({ args: rest, options: { ...scenario.options, ...HELP }, strict: true }).values);
  } catch (err) {
    io.stderr.write(`GW_ERR_CLI_USAGE: ${(err as Error).message}\n\n${usage(name, scenario)}`);
    return EXIT_USAGE;
  }
  if (help === true) {
    io.stdout.write(usage(name, scenario));
    return EXIT_OK;
  }
  await scenario.main([...rest]);
  return EXIT_OK;
}

function usage(name: string, scenario: Scenario): string {
  return `usage: npm run bench -- ${name} [options]\n${scenario.about}\n\noptions:\n${optionLines(scenario.options)}`;
}

async function overview(scenarios: Readonly<Record<string, () => Promise<Scenario>>>): Promise<string> {
  const parts = [`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [options]\n`];
  for (const [name, load] of Object.entries(scenarios)) {
    const scenario = await load();
    parts.push(`\n${name}: ${scenario.about}\n${optionLines(scenario.options)}`);
  }
  return parts.join('');
}

function optionLines(options: ScenarioOptions): string {
  const all: ScenarioOptions = { ...options, ...HELP };
  const flags = Object.entries(all).map(([flag, spec]) => {
    const short = spec.short === undefined ? '' : `, -${spec.short}`;
    return [`--${flag}${spec.type === 'string' ? ' <value>' : ''}${short}`, spec] as const;
  });
  const width = Math.max(...flags.map(([text]) => text.length)) + 2;
  return flags
    .map(([text, spec]) => {
      const shown = spec.default !== undefined && spec.default !== false && spec.default !== '';
      return `  ${shown ? `${text.padEnd(width)}default ${String(spec.default)}` : text}\n`;
    })
    .join('');
}
