// The forwarder: reads the forward log after the cursor, publishes it
// upstream at QoS 1 with a window of messages in flight, and moves the
// cursor past a batch only when every message made from it, and from every
// batch before it, has its PUBACK. A crash between PUBACK and cursor move
// resends what was acked: the upstream's (device, metric, ts) key absorbs it.

import type { ForwardLog } from '../../storage/forward-port.js';
import { encodeMessages, type MessageLimits, type UpstreamMessage } from './encode-messages.js';

/** The upstream session as the forwarder sees it (gateway/forward/upstream-session.ts). */
export interface Upstream {
  readonly connected: boolean;
  /** Resolves on the PUBACK; rejects if the message can no longer be delivered by this session. */
  publish(topic: string, payload: Buffer): Promise<void>;
}

export interface ForwarderOptions {
  log: ForwardLog;
  upstream: Upstream;
  topicPrefix: string;
  limits: MessageLimits;
  /** messages published and not yet acknowledged, at most */
  window: number;
  /** readings read from the log at a time */
  pageReadings: number;
  /** how often an idle forwarder looks for new commits, ms */
  idlePollMs: number;
  onError: (err: unknown) => void;
}

export interface ForwarderStats {
  /** readings acknowledged upstream by this process */
  forwardedReadings: number;
  messages: number;
  inFlight: number;
  /** the last seq the upstream acknowledged in full, as the cursor has it */
  ackedSeq: number;
}

export interface Forwarder {
  /** Reads the cursor and starts; later calls do nothing. */
  start(): Promise<void>;
  /** The upstream is (back) up: go on at once rather than at the next poll. */
  wake(): void;
  stats(): ForwarderStats;
  /** Stops reading and publishing; the cursor keeps what was acknowledged. */
  stop(): Promise<void>;
}

/** A page being published: how many of its messages still wait for their PUBACK. */
interface PageInFlight {
  lastSeq: number;
  readings: number;
  /** the page's messages, in order; those from `sent` on are still to publish */
  messages: UpstreamMessage[];
  sent: number;
  unacked: number;
}

export function createForwarder(opts: ForwarderOptions): Forwarder {
  const pages: PageInFlight[] = [];
  const stats: ForwarderStats = { forwardedReadings: 0, messages: 0, inFlight: 0, ackedSeq: 0 };
  let readSeq = 0;
  // Bumped when a session loses messages: their late answers belong to no page.
  let generation = 0;
  let reading = false;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let advancing: Promise<void> = Promise.resolve();

  const schedule = (ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(pump, ms);
  };

  function pump(): void {
    if (!running || !opts.upstream.connected) return;
    while (stats.inFlight < opts.window) {
      const page = pages.find((p) => p.sent < p.messages.length);
      if (page === undefined) break;
      send(page, page.messages[page.sent++]!);
    }
    // The next page is read and encoded while this one is in flight: otherwise
    // the upstream idles for a read and an encode at every page boundary.
    readMore();
  }

  function readMore(): void {
    // Two pages at most in memory: one in flight, the next one ready.
    if (reading || pages.length >= 2) return;
    reading = true;
    const from = generation;
    opts.log.page(readSeq, opts.pageReadings).then(
      (page) => {
        // A read from before a restart: restartFromCursor() let a new read begin, which `reading` now belongs to.
        if (from !== generation) return;
        reading = false;
        if (!running) return;
        const last = page.batches.at(-1);
        if (last === undefined) {
          schedule(opts.idlePollMs);
          return;
        }
        const messages = encodeMessages(page.batches, opts.topicPrefix, opts.limits);
        pages.push({
          lastSeq: last.seq,
          readings: page.readings,
          messages,
          sent: 0,
          unacked: messages.length,
        });
        readSeq = last.seq;
        pump();
      },
      (err: unknown) => {
        if (from !== generation) return;
        reading = false;
        opts.onError(err);
        schedule(opts.idlePollMs);
      },
    );
  }

  function send(page: PageInFlight, message: UpstreamMessage): void {
    const from = generation;
    stats.inFlight++;
    opts.upstream.publish(message.topic, message.payload).then(
      () => {
        if (from !== generation) return;
        stats.inFlight--;
        stats.messages++;
        page.unacked--;
        settleDonePages();
        pump();
      },
      (err: unknown) => {
        // After stop(), closing the session fails what was in flight: owed still, not news.
        if (from !== generation || !running) return;
        opts.onError(err);
        restartFromCursor();
      },
    );
  }

  /** Pages leave in order; the cursor moves to the last one fully acknowledged. */
  function settleDonePages(): void {
    let seq: number | undefined;
    while (pages[0] !== undefined && pages[0].unacked === 0 && pages[0].sent === pages[0].messages.length) {
      const done = pages.shift()!;
      stats.forwardedReadings += done.readings;
      seq = done.lastSeq;
    }
    if (seq === undefined) return;
    const to = seq;
    // One cursor move at a time, in order; a later one covers an earlier one's rows too.
    advancing = advancing.then(() =>
      opts.log.advance(to).then(
        () => {
          stats.ackedSeq = Math.max(stats.ackedSeq, to);
        },
        (err: unknown) => opts.onError(err),
      ),
    );
  }

  /** Messages this session can no longer deliver: read again from what the upstream acknowledged. */
  function restartFromCursor(): void {
    generation++;
    pages.length = 0;
    stats.inFlight = 0;
    reading = false;
    // At or before every batch not yet acknowledged: at worst some are sent twice.
    readSeq = stats.ackedSeq;
    schedule(opts.idlePollMs);
  }

  return {
    async start() {
      if (running) return;
      const status = await opts.log.status();
      stats.ackedSeq = status.cursor;
      readSeq = status.cursor;
      running = true;
      pump();
    },
    wake: () => schedule(0),
    stats: () => ({ ...stats }),
    async stop() {
      running = false;
      clearTimeout(timer);
      await advancing;
    },
  };
}
