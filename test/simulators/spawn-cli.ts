// Runs a built CLI the way a user does and collects what it printed.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimSummary } from '../../simulators/sim-summary.js';

export const SIM_CLI = fileURLToPath(new URL('../../build/cli/sim-cli.js', import.meta.url));
export const GATEWAY_MAIN = fileURLToPath(new URL('../../build/gateway/main.js', import.meta.url));
export const DEMO_CLI = fileURLToPath(new URL('../../build/cli/demo-cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(script: string, args: readonly string[], shellPrefix?: string): Promise<CliResult> {
  const child = shellPrefix
    ? spawn('sh', ['-c', `${shellPrefix} && exec "$0" "$@"`, process.execPath, script, ...args])
    : spawn(process.execPath, [script, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line of stdout parsed as JSON: the --json summary, or { ok: false, error } on failure. */
export function jsonOut(result: CliResult): SimSummary {
  const lines = result.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    throw new Error(`no JSON on stdout (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
