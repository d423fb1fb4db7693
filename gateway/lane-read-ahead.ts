// How the publish lane reads a connection once its session is up. aedes reads
// a socket in paused mode: a 'readable' event, a nextTick, then Readable#read
// to take the chunk, and it reads again only when every packet of the last
// chunk has called back (lib/client.js nextBatch), which at saturation also
// costs a read that finds nothing. That was about 7 % of the main thread at
// 5000 connections (docs/benchmarks.md). Here the socket flows: each chunk
// comes with its 'data' event and goes straight to the framer, and the
// connection is read ahead while its messages wait for their commit, up to
// READ_AHEAD_MESSAGES packets in flight or READ_AHEAD_BYTES read since none
// was. Past either, the socket is paused, and read again once every packet
// has called back, as aedes would: a client that outruns its commits is
// slowed by TCP, as before, and what one connection holds stays bounded.
//
// Order is kept where read-ahead could change it: the lane writes its
// PUBACKs in the order the PUBLISHes came (publish-lane.ts), and a PUBLISH
// for aedes waits in the framer until nothing of its connection is in flight,
// so that its ack follows those of the messages before it [MQTT-4.6.0-2].

import type { Client } from 'aedes';

/** Packets of one connection in flight before its socket is paused (MQTT 5's Receive Maximum plays this part for a v5 client). */
export const READ_AHEAD_MESSAGES = 32;
/** Bytes read since nothing of the connection was in flight before its socket is paused: one read's worth. */
export const READ_AHEAD_BYTES = 64 * 1024;

/** The parts of aedes 1.2's Client read-ahead takes over (node_modules/aedes/lib/client.js). */
interface ClientReading {
  _parsingBatch: number;
  _nextBatch(err?: Error | null): void;
  _paused?: boolean;
  closed: boolean;
}

export interface ReadAheadFramer {
  /** frames a chunk the socket delivered */
  feed(chunk: Buffer): void;
  /** true while bytes wait for the connection's packets in flight to call back */
  readonly waiting: boolean;
  /** frames the bytes that waited; called once nothing is in flight */
  resume(): void;
}

/**
 * Takes the reading of an attached client over from aedes. Call it from the
 * parse of a chunk aedes read, before that chunk is framed, and only with
 * nothing of the connection in flight (`_parsingBatch` 0): every packet
 * parsed from then on calls back through the read-ahead's own `_nextBatch`.
 */
export function readAhead(client: Client, framer: ReadAheadFramer): void {
  const c = client as unknown as ClientReading;
  const conn = client.conn;
  const aedesNextBatch = c._nextBatch;
  let paused = false;
  let bytesAhead = 0;
  const pauseIfFull = () => {
    if (paused || c.closed || conn.destroyed) return;
    if (
      framer.waiting ||
      (c._parsingBatch > 0 && (c._parsingBatch >= READ_AHEAD_MESSAGES || bytesAhead >= READ_AHEAD_BYTES))
    ) {
      paused = true;
      conn.pause();
    }
  };
  // The callback of every packet from now on, aedes' and the lane's: aedes'
  // accounting, without its read.
  c._nextBatch = (err) => {
    if (err) return aedesNextBatch(err);
    if (c._paused === true) return;
    if (--c._parsingBatch > 0) return;
    c._parsingBatch = 0;
    bytesAhead = 0;
    if (framer.waiting) {
      framer.resume();
      if (framer.waiting || c._parsingBatch > 0) return;
    }
    if (paused && !c.closed && !conn.destroyed) {
      paused = false;
      conn.resume();
    }
  };
  conn.removeListener('readable', aedesNextBatch);
  conn.on('data', (chunk: Buffer) => {
    // aedes closed the client (a DISCONNECT, an error): it reads no more.
    if (c.closed || conn.destroyed) return;
    bytesAhead += chunk.length;
    framer.feed(chunk);
    pauseIfFull();
  });
  // Removing the 'readable' listener made Node schedule the stream's resume
  // for the next tick (node:internal/streams/readable updateReadableListening);
  // the chunk being framed may already fill the read-ahead, and its pause must
  // come after that resume.
  process.nextTick(pauseIfFull);
}
