import { resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { GatewayError } from '../../core/errors.js';
import { resolveWorkerScript } from '../../core/worker-script.js';
import { checkRollupCpuPercent } from '../background-refresh.js';
import type { ForwardLog, ForwardLogOptions, ForwardPage, ForwardStatus } from '../forward-port.js';
import type {
  RefreshOutcome,
  StorageHealth,
  StorageWriter,
  WriteBatch,
  WriteResult,
  WriterLoad,
} from '../port.js';
import { emptyOutcome } from '../rollup-refresh.js';
import { type LastStorageError, storageHealth } from '../storage-health.js';
import type { FromThread, SqliteSettings, Synchronous, ToThread, WriterThreadOptions } from './protocol.js';
import { startWriterThread, toGatewayError } from './start-writer-thread.js';

export type { SqliteSettings, Synchronous } from './protocol.js';

export interface SqliteWriterOptions {
  path: string;
  /** NORMAL survives a process crash; FULL also survives power loss. Default NORMAL. */
  synchronous?: Synchronous;
  /** Database size cap; a write that would grow past it fails with GW_ERR_STORAGE_FULL. */
  maxDbBytes?: number;
  /** The write connection's page cache, MiB (default 32). */
  cacheMb?: number;
  /** The compiled writer thread; for tests and unusual layouts. */
  workerScript?: URL;
  /**
   * Called once if the writer thread dies without being asked to close (out
   * of memory, a crashed native module). Every later write fails, so the
   * owner should shut down and let a supervisor restart it.
   */
  onDeath?: (err: GatewayError) => void;
  /** share of one core the background re-aggregation may take, 1–100 (storage/background-refresh.ts) */
  rollupCpuPercent?: number;
  /** A background re-aggregation slice failed (it is retried); for the log. */
  onRefreshError?: (err: GatewayError) => void;
  /** With --forward: keep the forward log and offer it as `forward`. */
  forward?: ForwardLogOptions;
}

/** A StorageWriter that also tells what the connection actually runs with (for the start-up log). */
export interface SqliteWriter extends StorageWriter {
  readonly settings: SqliteSettings;
}

const BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_CACHE_MB = 32;

/**
 * Starts the writer thread and resolves once it has opened and migrated the
 * database. Rejects with GW_ERR_STORAGE_OPEN (naming the path and the reason),
 * GW_ERR_STORAGE_CORRUPT, or GW_ERR_CONFIG_INVALID for bad options.
 */
export async function openSqliteWriter(opts: SqliteWriterOptions): Promise<SqliteWriter> {
  const path = resolve(opts.path);
  const threadOptions: WriterThreadOptions = {
    path,
    synchronous: checkSynchronous(opts.synchronous ?? 'NORMAL'),
    busyTimeoutMs: BUSY_TIMEOUT_MS,
    cacheSize: -Math.trunc((opts.cacheMb ?? DEFAULT_CACHE_MB) * 1024),
  };
  if (opts.maxDbBytes !== undefined) {
    if (!Number.isFinite(opts.maxDbBytes) || opts.maxDbBytes <= 0) {
      throw new GatewayError('GW_ERR_CONFIG_INVALID', [`maxDbBytes must be a positive number`]);
    }
    threadOptions.maxDbBytes = opts.maxDbBytes;
  }
  if (opts.forward !== undefined) threadOptions.forward = opts.forward;
  if (opts.rollupCpuPercent !== undefined)
    threadOptions.rollupCpuPercent = checkRollupCpuPercent(opts.rollupCpuPercent);
  const script = opts.workerScript ?? resolveWorkerScript(import.meta.url, 'storage/sqlite/writer-thread.js');
  const { worker, settings } = await startWriterThread(script, threadOptions);
  const writer = new ThreadedSqliteWriter(worker, path, settings, opts.onDeath, opts.onRefreshError);
  if (opts.forward !== undefined) writer.enableForward();
  return writer;
}

type Answer = WriteResult | RefreshOutcome | ForwardPage | ForwardStatus | undefined;

/** A request to the thread: a write, a rollup recovery or a forward step, answered in order by id. */
interface Pending {
  resolve: (result: Answer) => void;
  reject: (err: GatewayError) => void;
}

class ThreadedSqliteWriter implements SqliteWriter {
  readonly settings: SqliteSettings;
  forward?: ForwardLog;
  readonly #worker: Worker;
  readonly #path: string;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 0;
  #load: WriterLoad = { busyMs: 0, longestMs: 0, refreshLongestMs: 0, refresh: emptyOutcome() };
  readonly #onRefreshError: ((err: GatewayError) => void) | undefined;
  #lastError: LastStorageError | undefined;
  /** set when the thread is gone without being asked to close */
  #died: GatewayError | undefined;
  #closeError: GatewayError | undefined;
  #closing: Promise<void> | undefined;
  readonly #onDeath: ((err: GatewayError) => void) | undefined;

  constructor(
    worker: Worker,
    path: string,
    settings: SqliteSettings,
    onDeath: ((err: GatewayError) => void) | undefined,
    onRefreshError?: (err: GatewayError) => void,
  ) {
    this.#onRefreshError = onRefreshError;
    this.#worker = worker;
    this.#path = path;
    this.settings = settings;
    this.#onDeath = onDeath;
    let crash: unknown;
    worker.on('message', (message: FromThread) => this.#onMessage(message));
    worker.on('error', (err) => {
      crash = err;
    });
    this.#exited = new Promise((resolveExit) => {
      worker.once('exit', (exitCode) => {
        this.#onExit(crash ?? new Error(`writer thread exited with code ${exitCode}`));
        resolveExit();
      });
    });
  }

  write(batch: WriteBatch): Promise<WriteResult> {
    // Transferred, not copied: the caller's typed arrays are detached from here on.
    return this.#request<WriteResult>((id) => ({ type: 'write', id, batch }), transferables(batch));
  }

  refreshRollups(options: { now?: number } = {}): Promise<RefreshOutcome> {
    const now = options.now ?? Date.now();
    return this.#request<RefreshOutcome>((id) => ({ type: 'refresh-rollups', id, now }), []);
  }

  enableForward(): void {
    this.forward = {
      page: (afterSeq, maxReadings) =>
        this.#request<ForwardPage>((id) => ({ type: 'forward-page', id, afterSeq, maxReadings }), []),
      advance: (seq) => this.#request<undefined>((id) => ({ type: 'forward-advance', id, seq }), []),
      status: () => this.#request<ForwardStatus>((id) => ({ type: 'forward-status', id }), []),
    };
  }

  takeLoad(): WriterLoad {
    const load = this.#load;
    this.#load = { busyMs: 0, longestMs: 0, refreshLongestMs: 0, refresh: emptyOutcome() };
    return load;
  }

  #request<T extends Answer>(message: (id: number) => ToThread, transfer: ArrayBuffer[]): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new GatewayError('GW_ERR_STORAGE_CLOSED'));
    if (this.#died !== undefined) {
      return Promise.reject(new GatewayError('GW_ERR_STORAGE_WRITE', [], { cause: this.#died }));
    }
    const id = this.#nextId++;
    return new Promise<T>((resolveRequest, rejectRequest) => {
      // The thread answers id with the matching message type, so the result is a T.
      this.#pending.set(id, { resolve: (result) => resolveRequest(result as T), reject: rejectRequest });
      try {
        this.#worker.postMessage(message(id), transfer);
      } catch (err) {
        this.#pending.delete(id);
        const error = new GatewayError('GW_ERR_STORAGE_WRITE', [], { cause: err });
        this.#fail(error);
        rejectRequest(error);
      }
    });
  }

  health(): StorageHealth {
    const state =
      this.#closing !== undefined
        ? 'closed'
        : this.#died !== undefined || this.#lastError !== undefined
          ? 'failing'
          : 'ok';
    return storageHealth(state, this.#pending.size, this.#lastError);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Queued after every write already posted: the thread finishes those first.
    if (this.#died === undefined) this.#worker.postMessage({ type: 'close' } satisfies ToThread);
    await this.#exited;
    if (this.#closeError !== undefined) throw this.#closeError;
  }

  #onMessage(message: FromThread): void {
    switch (message.type) {
      case 'load': {
        const into = this.#load;
        into.busyMs += message.load.busyMs;
        into.longestMs = Math.max(into.longestMs, message.load.longestMs);
        into.refreshLongestMs = Math.max(into.refreshLongestMs, message.load.refreshLongestMs);
        if (message.load.heapUsedMb !== undefined) into.heapUsedMb = message.load.heapUsedMb;
        for (const key of Object.keys(into.refresh) as (keyof RefreshOutcome)[]) {
          into.refresh[key] += message.load.refresh[key];
        }
        return;
      }
      case 'refresh-failed':
        this.#onRefreshError?.(toGatewayError(message.error, this.#path));
        return;
      case 'forward-answer':
        // Not news about writes: a forward read must not clear a write's failure from health().
        this.#settle(message.id)?.resolve(message.result);
        return;
      case 'written':
      case 'rollups-refreshed': {
        const pending = this.#settle(message.id);
        this.#lastError = undefined;
        pending?.resolve(message.result);
        return;
      }
      case 'write-failed': {
        const pending = this.#settle(message.id);
        const err = toGatewayError(message.error, this.#path);
        this.#fail(err);
        pending?.reject(err);
        return;
      }
      case 'closed':
        if (message.error !== undefined) this.#closeError = toGatewayError(message.error, this.#path);
        return;
      case 'ready':
      case 'open-failed':
        return;
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  #onExit(cause: unknown): void {
    if (this.#pending.size === 0 && this.#closing !== undefined) return;
    this.#died = new GatewayError('GW_ERR_STORAGE_WRITE', [], { cause });
    this.#fail(this.#died);
    for (const pending of this.#pending.values()) {
      pending.reject(new GatewayError('GW_ERR_STORAGE_WRITE', [], { cause }));
    }
    this.#pending.clear();
    // A death during close() is that close's business, not news for the owner.
    if (this.#closing === undefined) this.#onDeath?.(this.#died);
  }

  #fail(err: GatewayError): void {
    const detail = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    this.#lastError = { code: err.code, message: `${err.message}${detail}`, at: Date.now() };
  }
}

function checkSynchronous(value: string): Synchronous {
  if (value === 'NORMAL' || value === 'FULL') return value;
  throw new GatewayError('GW_ERR_CONFIG_INVALID', [`synchronous must be NORMAL or FULL, not ${value}`]);
}

/** Only buffers a view covers whole: transferring a shared pool would detach its other users. */
function transferables({ readings, devices }: WriteBatch): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const column of [
    readings.deviceIndex,
    readings.metricIndex,
    readings.ts,
    readings.value,
    devices.deviceIndex,
    devices.seenAt,
    readings.deviceNumbers,
  ]) {
    if (column === undefined) continue;
    const { buffer } = column;
    if (buffer instanceof ArrayBuffer && column.byteOffset === 0 && column.byteLength === buffer.byteLength) {
      buffers.add(buffer);
    }
  }
  return [...buffers];
}
