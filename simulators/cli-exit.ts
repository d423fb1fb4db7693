// How the sim and demo CLIs end: a coded error on stderr (and as JSON on
// stdout with --json), and an exit code scripts can branch on.

import { GatewayError } from '../core/errors.js';

export const EXIT_OK = 0;
/** runtime failure, including unacknowledged QoS ≥ 1 messages */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** interrupted twice: no summary */
export const EXIT_INTERRUPTED = 130;

export interface CliStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function reportFailure(err: unknown, json: boolean, streams: CliStreams): number {
  const code = err instanceof GatewayError ? err.code : 'ERR_UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  // A wrapped parseArgs error says all in its own message: its cause would repeat it.
  const cause =
    err instanceof Error && err.cause instanceof Error && !message.includes(err.cause.message)
      ? ` (${err.cause.message})`
      : '';
  streams.stderr.write(`${code}: ${message}${cause}\n`);
  if (json) streams.stdout.write(`${JSON.stringify({ ok: false, error: { code, message } })}\n`);
  return code === 'GW_ERR_CLI_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * Sets the exit code and lets the process end on its own, so buffered output
 * is flushed; a handle that would keep it alive cannot hold it past 5 s.
 */
export function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5000).unref();
}
