import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { GatewayError } from '../../core/errors.js';
import { WORKER_RESOURCE_LIMITS } from '../../core/worker-script.js';
import type { FromThread, SqliteSettings, ThreadError, WriterThreadOptions } from './protocol.js';

/**
 * Creates the database's directory, starts the writer thread and waits for its
 * open-and-migrate handshake. Rejects with GW_ERR_STORAGE_OPEN (path and reason)
 * or GW_ERR_STORAGE_CORRUPT; a thread that failed to open is terminated.
 */
export async function startWriterThread(
  script: URL,
  options: WriterThreadOptions,
): Promise<{ worker: Worker; settings: SqliteSettings }> {
  await prepareDirectory(options.path);
  const worker = new Worker(script, {
    workerData: options,
    name: 'sqlite-writer',
    resourceLimits: WORKER_RESOURCE_LIMITS,
  });
  const settings = await waitUntilReady(worker, options.path);
  return { worker, settings };
}

function waitUntilReady(worker: Worker, path: string): Promise<SqliteSettings> {
  return new Promise((resolveReady, rejectReady) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: FromThread): void => {
      cleanup();
      if (message.type === 'ready') {
        resolveReady(message.settings);
        return;
      }
      void worker.terminate();
      if (message.type !== 'open-failed') {
        rejectReady(openError(path, `unexpected ${message.type}`));
        return;
      }
      const cause = toCause(message.error);
      rejectReady(
        message.error.code === 'GW_ERR_STORAGE_CORRUPT'
          ? new GatewayError('GW_ERR_STORAGE_CORRUPT', [path], { cause })
          : openError(path, message.error.message, cause),
      );
    };
    const onError = (err: Error): void => {
      cleanup();
      void worker.terminate();
      rejectReady(openError(path, `writer thread failed to start: ${err.message}`, err));
    };
    const onExit = (exitCode: number): void => {
      cleanup();
      rejectReady(openError(path, `writer thread exited with code ${exitCode} before opening`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

async function prepareDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw openError(path, directoryProblem(dir, err), err);
  }
}

function directoryProblem(dir: string, err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return `${dir} or one of its parents is not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `directory ${dir} is not writable`;
    case 'EROFS':
      return `directory ${dir} is on a read-only file system`;
    default:
      return `cannot create directory ${dir}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function openError(path: string, reason: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_ERR_STORAGE_OPEN', [`${path} (${reason})`], { cause });
}

export function toGatewayError(error: ThreadError, path: string): GatewayError {
  return new GatewayError(error.code, [path], { cause: toCause(error) });
}

/** Rebuilds the SQLite error on this side of the thread boundary, keeping its code. */
function toCause(error: ThreadError): Error {
  const cause = new Error(error.message);
  if (error.sqliteCode !== undefined) Object.assign(cause, { code: error.sqliteCode });
  return cause;
}
