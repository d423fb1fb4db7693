// The gateway as a child process: start it, learn its ports from the
// "gateway ready" log line, send its log to a file, stop it with SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wrapError } from '../core/errors.js';

export const DEFAULT_GATEWAY_SCRIPT = fileURLToPath(new URL('../gateway/main.js', import.meta.url));

export interface StartGatewayOptions {
  db: string;
  /** 0 picks a free port */
  mqttPort: number;
  httpPort?: number;
  host?: string;
  /** the gateway's log (stdout and stderr) goes here, appended */
  logPath: string;
  script?: string;
  readyTimeoutMs?: number;
  extraArgs?: readonly string[];
}

export interface GatewayProcess {
  host: string;
  mqttPort: number;
  httpPort: number;
  pid: number;
  /** resolves with the exit code (null when killed by a signal) */
  readonly exited: Promise<number | null>;
  /** SIGTERM (the gateway drains and commits), then SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
}

interface ReadyLine {
  msg?: unknown;
  host?: unknown;
  mqttPort?: unknown;
  httpPort?: unknown;
}

function parseReady(line: string): { host: string; mqttPort: number; httpPort: number } | null {
  if (!line.includes('"gateway ready"')) return null;
  try {
    const entry = JSON.parse(line) as ReadyLine;
    if (
      entry.msg !== 'gateway ready' ||
      typeof entry.mqttPort !== 'number' ||
      typeof entry.httpPort !== 'number'
    ) {
      return null;
    }
    return {
      host: typeof entry.host === 'string' ? entry.host : '127.0.0.1',
      mqttPort: entry.mqttPort,
      httpPort: entry.httpPort,
    };
  } catch {
    return null;
  }
}

export function startGatewayProcess(options: StartGatewayOptions): Promise<GatewayProcess> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(dirname(options.db), { recursive: true });
  mkdirSync(dirname(options.logPath), { recursive: true });
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const args = [
    options.script ?? DEFAULT_GATEWAY_SCRIPT,
    '--host',
    host,
    '--mqtt-port',
    String(options.mqttPort),
    '--http-port',
    String(options.httpPort ?? 0),
    '--db',
    options.db,
    '--log-format',
    'json',
    ...(options.extraArgs ?? []),
  ];
  // Its own process group: a Ctrl-C in the terminal reaches only the demo,
  // which stops the simulator first and the gateway after the last ack.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  void exited.then(() => {
    process.off('exit', killOnExit);
    log.end();
  });

  return new Promise((resolve, reject) => {
    let pending = '';
    let stderrTail = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const cause = new Error(stderrTail.trim() || why);
      reject(wrapError('GW_ERR_SIM_CONNECT', cause, `the gateway (${why}; log: ${options.logPath})`));
    };
    const timer = setTimeout(() => fail('not ready in time'), options.readyTimeoutMs ?? 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.stderr?.pipe(log, { end: false });
    const onStdout = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0 && !settled) {
        const ready = parseReady(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (ready) {
          settled = true;
          clearTimeout(timer);
          // From now on the log goes straight to the file, so the live progress stays clean.
          child.stdout?.off('data', onStdout);
          child.stdout?.pipe(log, { end: false });
          resolve(handle(child, ready, exited));
          return;
        }
        nl = pending.indexOf('\n');
      }
    };
    child.stdout?.on('data', onStdout);
    child.once('error', (err) => fail(`cannot start it: ${err.message}`));
    void exited.then((code) => fail(`it exited with code ${code} before it was ready`));
  });
}

function handle(
  child: ChildProcess,
  ready: { host: string; mqttPort: number; httpPort: number },
  exited: Promise<number | null>,
): GatewayProcess {
  return {
    ...ready,
    pid: child.pid ?? 0,
    exited,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
