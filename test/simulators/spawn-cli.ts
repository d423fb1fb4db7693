// Runs a built CLI the way a user does and collects what it printed; the
// simulator tests' form, with an optional shell prefix such as 'ulimit -n 512'.

import { type CliResult, runCli as run } from '../../simulators/run-cli.js';
import type { SimSummary } from '../../simulators/sim-summary.js';

export function runCli(script: string, args: readonly string[], shellPrefix?: string): Promise<CliResult> {
  return run(script, args, {}, shellPrefix === undefined ? {} : { shellPrefix });
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
