// The built CLIs, run from outside the way a user runs them: where the project
// and its build are, a scratch folder, and a CLI run to completion. Tests,
// benchmarks and the fuzz CLI share these; gateway-process.ts starts the
// gateway itself.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The project root, found from here whether this runs as source (tests) or from build/. */
export const ROOT = findRoot(import.meta.dirname);

/** The path of a built script: `script` is relative to build/; an absolute path is kept as is. */
export function builtScript(script: string): string {
  return resolve(ROOT, 'build', script);
}

export const GATEWAY_MAIN = builtScript('gateway/main.js');
export const SIM_CLI = builtScript('cli/sim-cli.js');
export const DEMO_CLI = builtScript('cli/demo-cli.js');

export function tempDir(prefix = 'gw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** shell commands run before the CLI, in the same shell, e.g. 'ulimit -n 512' */
  shellPrefix?: string;
}

/**
 * Runs a built CLI to completion from the project root, with `env` added to
 * this process's environment, and collects what it printed.
 */
export async function runCli(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: RunCliOptions = {},
): Promise<CliResult> {
  const node = [builtScript(script), ...args];
  const [command, argv] =
    options.shellPrefix === undefined
      ? [process.execPath, node]
      : ['sh', ['-c', `${options.shellPrefix} && exec "$0" "$@"`, process.execPath, ...node]];
  const proc = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const [code] = (await once(proc, 'close')) as [number | null];
  return { code, stdout, stderr };
}
