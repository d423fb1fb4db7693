// Live progress: one line rewritten in place on a terminal, plain periodic
// lines otherwise (CI logs, pipes). Rates are computed between two snapshots.

import type { SimSnapshot } from './simulator-types.js';

export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  snapshot: () => SimSnapshot;
  /** defaults to 1000 ms on a terminal and 5000 ms otherwise */
  intervalMs?: number;
}

export interface Progress {
  start(): void;
  /** Writes a last line and ends the in-place line. */
  stop(): void;
}

export function formatProgressLine(current: SimSnapshot, previous: SimSnapshot | null): string {
  const c = current.counters;
  const p = previous?.counters;
  const seconds = Math.max(0.001, (current.elapsedMs - (previous?.elapsedMs ?? 0)) / 1000);
  const rate = (now: number, before: number | undefined) => Math.round((now - (before ?? 0)) / seconds);
  const errors = [...current.errors].map(([kind, n]) => `${kind}=${n}`).join(' ');
  return [
    `[${Math.floor(current.elapsedMs / 1000)}s]`,
    `connected ${c.connected}/${current.target}`,
    `sent ${rate(c.messagesSent, p?.messagesSent)}/s`,
    `acked ${rate(c.messagesAcked, p?.messagesAcked)}/s`,
    `in flight ${c.inFlight}`,
    `ack p50 ${current.latency.p50} ms p99 ${current.latency.p99} ms`,
    `errors ${errors || 'none'}`,
  ].join(' | ');
}

export function createProgress(options: ProgressOptions): Progress {
  const tty = options.stream.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 1000 : 5000);
  let previous: SimSnapshot | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const write = () => {
    const current = options.snapshot();
    let line = formatProgressLine(current, previous);
    previous = current;
    // A wrapped line cannot be rewritten in place.
    const columns = options.stream.columns;
    if (tty && columns && line.length >= columns) line = line.slice(0, columns - 1);
    // \r plus erase-line keeps a single refreshed line on a terminal.
    options.stream.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };

  return {
    start() {
      timer = setInterval(write, intervalMs);
      timer.unref();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // The run's totals follow in the summary; only the in-place line needs ending.
      if (tty && previous) options.stream.write('\n');
    },
  };
}
