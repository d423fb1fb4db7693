import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The project root, found from here whether this runs as source or from build/. */
function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const ROOT = findRoot(import.meta.dirname);
export const GATEWAY_MAIN = join(ROOT, 'build', 'gateway', 'main.js');

export interface GatewayProcess {
  proc: ChildProcess;
  mqttPort: number;
  httpPort: number;
  /** every JSON log line so far */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'gw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the built gateway the way a user does and waits for its ready line. */
export async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const proc = spawn(
    process.execPath,
    [
      GATEWAY_MAIN,
      '--host',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--log-format',
      'json',
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = once(proc, 'exit').then(([code, signal]) => {
    if (signal !== null && signal !== 'SIGKILL')
      process.stderr.write(`gateway died by ${String(signal)}: ${stderr}\n`);
    return code as number | null;
  });
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'gateway ready') res(entry);
    });
    exited.then((code) => rej(new Error(`gateway exited with ${code} before ready: ${stderr}`)));
  });
  const entry = await ready;
  return {
    proc,
    mqttPort: entry.mqttPort as number,
    httpPort: entry.httpPort as number,
    logs,
    stderr: () => stderr,
    exited,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      proc.kill(signal);
      return exited;
    },
  };
}

/** Runs a built CLI to completion. */
export async function runCli(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'build', script), ...args], {
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
