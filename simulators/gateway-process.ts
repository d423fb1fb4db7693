// The built gateway as a child process, the one place that starts it from
// outside (tests, benchmarks, the demo and fuzz CLIs): start it, learn its
// ports from the JSON "gateway ready" line, keep its log lines in memory or
// append its output to a file, stop it with a signal.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { wrapError } from '../core/errors.js';
import { GATEWAY_MAIN, ROOT } from './run-cli.js';

export type LogLine = Record<string, unknown>;

export interface StartGatewayOptions {
  /** gateway arguments, after the ones set here (--host, the ports, --db, --log-format json) */
  args?: readonly string[];
  /** added to this process's environment */
  env?: NodeJS.ProcessEnv;
  /** --db; it may as well be given in args */
  db?: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0, a free port */
  mqttPort?: number;
  /** default 0, a free port */
  httpPort?: number;
  /**
   * Append stdout and stderr to this file (for a long run, like the demo's)
   * instead of keeping every JSON log line in `logs`.
   */
  logPath?: string;
  /** default: the built gateway/main.js */
  script?: string;
  /** default: this process's */
  cwd?: string;
  /** Node's own flags, before the script: e.g. --cpu-prof, which NODE_OPTIONS refuses */
  nodeArgs?: readonly string[];
  /** SIGKILL it and reject when no ready line came within this time; default: wait as long as it runs */
  readyTimeoutMs?: number;
  /**
   * Its own process group, so that a Ctrl-C in the terminal reaches only the
   * caller, which then stops the gateway in order. It is SIGTERMed when the
   * caller exits, as nothing else would stop it.
   */
  detached?: boolean;
}

export interface GatewayProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** host and ports as the ready line reported them */
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  /** every JSON line it printed so far; stays empty when its output goes to logPath */
  readonly logs: LogLine[];
  /** all it wrote to stderr so far */
  stderr(): string;
  /**
   * Resolves with the exit code (null when killed by a signal) once it has
   * exited and its output has been read, so `logs` is complete by then.
   */
  readonly exited: Promise<number | null>;
  /**
   * Sends `signal` (on SIGTERM the gateway drains and commits) unless it has
   * already exited; with killAfterMs, SIGKILL when it still runs by then.
   */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

interface Ready {
  host: string;
  mqttPort: number;
  httpPort: number;
}

function readyFrom(entry: LogLine): Ready | null {
  if (entry.msg !== 'gateway ready') return null;
  if (typeof entry.mqttPort !== 'number' || typeof entry.httpPort !== 'number') return null;
  return {
    host: typeof entry.host === 'string' ? entry.host : '127.0.0.1',
    mqttPort: entry.mqttPort,
    httpPort: entry.httpPort,
  };
}

/** Calls `onLine` for each complete line of `input`, until the returned function is called. */
function eachLine(input: Readable, onLine: (line: string) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const take = (text: string) => {
    pending += text;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
      nl = pending.indexOf('\n');
    }
  };
  const onData = (chunk: Buffer) => take(decoder.write(chunk));
  const onEnd = () => {
    const rest = pending + decoder.end();
    pending = '';
    if (rest !== '') onLine(rest);
  };
  input.on('data', onData);
  input.once('end', onEnd);
  return () => {
    input.off('data', onData);
    input.off('end', onEnd);
  };
}

function parseLine(line: string): LogLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === 'object' && entry !== null ? (entry as LogLine) : null;
  } catch {
    return null;
  }
}

/** Starts the built gateway and resolves once it has printed its ready line. */
export function startGatewayProcess(options: StartGatewayOptions = {}): Promise<GatewayProcess> {
  const { logPath } = options;
  const args = [
    ...(options.nodeArgs ?? []),
    options.script ?? GATEWAY_MAIN,
    '--host',
    options.host ?? '127.0.0.1',
    '--mqtt-port',
    String(options.mqttPort ?? 0),
    '--http-port',
    String(options.httpPort ?? 0),
    ...(options.db === undefined ? [] : ['--db', options.db]),
    '--log-format',
    'json',
    ...(options.args ?? []),
  ];
  // Before the spawn: a folder that cannot be made must not leave a gateway behind.
  if (logPath !== undefined) mkdirSync(dirname(logPath), { recursive: true });
  const child = spawn(process.execPath, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached === true,
  });

  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let settled = false;
  let resolveReady: (gateway: GatewayProcess) => void = () => {};
  let rejectReady: (err: Error) => void = () => {};
  const ready = new Promise<GatewayProcess>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const timer =
    options.readyTimeoutMs === undefined
      ? undefined
      : setTimeout(() => fail('not ready in time'), options.readyTimeoutMs);
  const fail = (why: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    child.kill('SIGKILL');
    const cause = new Error(stderr.trim() || why);
    const where = logPath === undefined ? '' : `; log: ${logPath}`;
    rejectReady(wrapError('GW_ERR_SIM_CONNECT', cause, `the gateway (${why}${where})`));
  };

  let log: NodeJS.WritableStream | null = null;
  if (logPath !== undefined) {
    const file = createWriteStream(logPath, { flags: 'a' });
    // After the ready line a failing log file is not worth stopping the gateway for.
    file.on('error', (err) => fail(`cannot write its log: ${err.message}`));
    child.stdout.pipe(file, { end: false });
    child.stderr.pipe(file, { end: false });
    log = file;
  }

  // 'close', not 'exit': by then stdout has been read to its end.
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code, signal) => {
      if (signal !== null && signal !== 'SIGKILL') {
        process.stderr.write(`gateway died by ${signal}: ${stderr}\n`);
      }
      resolve(code);
    });
    child.once('error', (err) => {
      fail(`cannot start it: ${err.message}`);
      // It never started, so no 'close' may follow.
      if (child.pid === undefined) resolve(null);
    });
  });
  void exited.then((code) => {
    fail(`it exited with code ${code} before it was ready`);
    log?.end();
  });
  if (options.detached === true) {
    const killOnExit = () => child.kill('SIGTERM');
    process.once('exit', killOnExit);
    void exited.then(() => process.off('exit', killOnExit));
  }

  const stopReading = eachLine(child.stdout, (line) => {
    const entry = parseLine(line);
    if (entry === null) return;
    if (logPath === undefined) logs.push(entry);
    if (settled) return;
    const where = readyFrom(entry);
    if (where === null) return;
    settled = true;
    clearTimeout(timer);
    // With a log file, from now on the output goes only there.
    if (logPath !== undefined) stopReading();
    resolveReady(handle(child, where, logs, () => stderr, exited));
  });
  return ready;
}

function handle(
  child: ChildProcess,
  ready: Ready,
  logs: LogLine[],
  stderr: () => string,
  exited: Promise<number | null>,
): GatewayProcess {
  return {
    ...ready,
    proc: child,
    pid: child.pid ?? 0,
    logs,
    stderr,
    exited,
    stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      if (killAfterMs !== undefined) {
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        void exited.finally(() => clearTimeout(timer));
      }
      return exited;
    },
  };
}

/**
 * Tests' and benchmarks' shorthand: the built gateway run from the project
 * root on free loopback ports, `env` added to the environment, every JSON log
 * line kept in `logs`.
 */
export function spawnGateway(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: readonly string[] = [],
): Promise<GatewayProcess> {
  return startGatewayProcess({ args, env, cwd: ROOT, nodeArgs });
}
