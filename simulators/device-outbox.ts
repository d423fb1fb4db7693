// What a device sends and what became of it: publishes readings while it is
// online and under its in-flight cap, buffers them otherwise, replays the
// buffer as batches (original timestamps) when it can, and counts the acks.

import { performance } from 'node:perf_hooks';
import type { AckStats } from './ack-stats.js';
import { errorKind } from './ack-stats.js';
import type { DeviceLink } from './device-link.js';
import type { Reading, ReadingSampler } from './reading-sampler.js';
import type { SimOptions } from './sim-options.js';
import type { AnomalyRecord } from './sim-summary.js';

/** offline readings kept per device; older ones are dropped (and counted) */
const MAX_BUFFERED = 1000;
const LISTED_MAX = 10_000;

export interface OutboxDevice {
  id: string;
  /** only 'online' devices publish */
  state: string;
  inFlight: number;
  buffer: Reading[];
}

export interface DeviceOutbox {
  /** Sends now when online with room and nothing older waiting; buffers otherwise. */
  deliver(dev: OutboxDevice, readings: Reading[]): void;
  /** Replays buffered readings as batches while the device has room. */
  flush(dev: OutboxDevice): void;
  anomalies(): { count: number; list: AnomalyRecord[] };
}

export function createDeviceOutbox(ctx: {
  options: Pick<SimOptions, 'qos' | 'maxInFlight' | 'metrics'>;
  sampler: ReadingSampler;
  stats: AckStats;
  /** readings per replay message */
  chunk: number;
  linkOf(dev: OutboxDevice): DeviceLink;
  /** false once publishing has stopped */
  publishing(): boolean;
  /** true once the simulator closed its links: late callbacks are its own doing */
  closed(): boolean;
  /** called on each ack; the simulator watches for the last one */
  settled(): void;
}): DeviceOutbox {
  const { options, sampler, stats } = ctx;
  const c = stats.counters;
  const anomalies: AnomalyRecord[] = [];
  let anomalyCount = 0;

  const hasRoom = (dev: OutboxDevice) => options.qos === 0 || dev.inFlight < options.maxInFlight;

  function recordSpikes(dev: OutboxDevice, readings: Reading[]): void {
    for (const r of readings) {
      if (!r.spike) continue;
      anomalyCount++;
      if (anomalies.length < LISTED_MAX) {
        const { metric, value, expected } = r.spike;
        anomalies.push({ deviceId: dev.id, metric, ts: r.ts, value, expected });
      }
    }
  }

  function send(dev: OutboxDevice, readings: Reading[], replay: boolean): void {
    const values = sampler.valueCount(readings);
    const payload = sampler.encode(readings, replay);
    c.messagesSent++;
    c.readingsSent += values;
    if (replay) {
      c.replayMessages++;
      c.replayReadings += values;
    }
    recordSpikes(dev, readings);
    const link = ctx.linkOf(dev);
    if (options.qos === 0) {
      link.publish(payload, 0, (err) => {
        if (err && !ctx.closed()) failed(err);
      });
      return;
    }
    dev.inFlight++;
    c.inFlight++;
    const sentAt = performance.now();
    link.publish(payload, options.qos, (err) => onAck(dev, values, sentAt, err));
  }

  function failed(err: Error): void {
    c.messagesFailed++;
    stats.countError(`publish_${errorKind(err)}`);
  }

  function onAck(dev: OutboxDevice, values: number, sentAt: number, err: Error | undefined): void {
    // Closing fails whatever is left; the summary already counted it as unacked.
    if (ctx.closed()) return;
    dev.inFlight--;
    c.inFlight--;
    if (err) {
      failed(err);
    } else {
      c.messagesAcked++;
      c.readingsAcked += values;
      stats.recordAckMs(performance.now() - sentAt);
    }
    if (dev.buffer.length > 0 && dev.inFlight <= options.maxInFlight / 2) flush(dev);
    ctx.settled();
  }

  function flush(dev: OutboxDevice): void {
    while (ctx.publishing() && dev.state === 'online' && dev.buffer.length > 0 && hasRoom(dev)) {
      send(dev, dev.buffer.splice(0, ctx.chunk), true);
    }
  }

  function keep(dev: OutboxDevice, readings: Reading[]): void {
    dev.buffer.push(...readings);
    const excess = dev.buffer.length - MAX_BUFFERED;
    if (excess > 0) {
      dev.buffer.splice(0, excess);
      c.readingsOverflowed += excess * options.metrics.length;
    }
  }

  return {
    deliver(dev, readings) {
      if (dev.state === 'online' && dev.buffer.length === 0 && hasRoom(dev)) {
        send(dev, readings, false);
      } else {
        keep(dev, readings);
        flush(dev);
      }
    },
    flush,
    anomalies: () => ({ count: anomalyCount, list: anomalies }),
  };
}
