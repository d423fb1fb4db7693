// A page of the forward log as upstream messages of our own JSON contract
// (README, "Payloads"): one device per message, on {prefix}{deviceId}/telemetry,
// an array of {"ts": ms, "values": {metric: value}}. ts is always written, so
// the upstream stores the time the reading was taken, not the time it came.

import type { ForwardBatch } from '../../storage/forward-port.js';

export interface UpstreamMessage {
  topic: string;
  payload: Buffer;
  readings: number;
}

export interface MessageLimits {
  /** the upstream's --max-readings-per-message */
  maxReadings: number;
  /** the upstream's --max-payload-bytes */
  maxBytes: number;
}

/** One {"ts","values"} entry, built per (device, ts). */
interface Entry {
  ts: number;
  values: Record<string, number>;
  count: number;
}

/**
 * Groups the batches' readings per device, then per ts, in commit order, and
 * cuts each device's entries into messages within the limits. Every message
 * holds at least one entry; an entry never holds more than maxReadings values.
 */
export function encodeMessages(
  batches: readonly ForwardBatch[],
  topicPrefix: string,
  limits: MessageLimits,
): UpstreamMessage[] {
  const perDevice = groupByDevice(batches, limits.maxReadings);
  const messages: UpstreamMessage[] = [];
  for (const [deviceId, entries] of perDevice) {
    packEntries(`${topicPrefix}${deviceId}/telemetry`, entries, limits, messages);
  }
  return messages;
}

function groupByDevice(batches: readonly ForwardBatch[], maxValues: number): Map<string, Entry[]> {
  const perDevice = new Map<string, Entry[]>();
  // device -> ts -> the entry still taking values
  const open = new Map<string, Map<number, Entry>>();
  for (const { readings } of batches) {
    const { devices, metrics, deviceIndex, metricIndex, ts, value } = readings;
    for (let i = 0; i < ts.length; i++) {
      const deviceId = devices[deviceIndex[i]!]!;
      const t = ts[i]!;
      let byTs = open.get(deviceId);
      if (byTs === undefined) {
        byTs = new Map();
        open.set(deviceId, byTs);
        perDevice.set(deviceId, []);
      }
      let entry = byTs.get(t);
      if (entry === undefined || entry.count >= maxValues) {
        entry = { ts: t, values: {}, count: 0 };
        byTs.set(t, entry);
        perDevice.get(deviceId)!.push(entry);
      }
      const metric = metrics[metricIndex[i]!]!;
      if (!(metric in entry.values)) entry.count++;
      entry.values[metric] = value[i]!;
    }
  }
  return perDevice;
}

function packEntries(topic: string, entries: Entry[], limits: MessageLimits, into: UpstreamMessage[]): void {
  let parts: string[] = [];
  let bytes = 2; // the brackets
  let readings = 0;
  const flush = (): void => {
    if (parts.length === 0) return;
    into.push({ topic, payload: Buffer.from(`[${parts.join(',')}]`), readings });
    parts = [];
    bytes = 2;
    readings = 0;
  };
  for (const entry of entries) {
    const text = JSON.stringify({ ts: entry.ts, values: entry.values });
    // Names and numbers are ASCII (the name pattern, JSON numbers): length is bytes.
    const size = text.length + (parts.length === 0 ? 0 : 1);
    if (readings + entry.count > limits.maxReadings || bytes + size > limits.maxBytes) flush();
    parts.push(text);
    bytes += text.length + (parts.length === 1 ? 0 : 1);
    readings += entry.count;
  }
  flush();
}
