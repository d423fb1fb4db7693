import type { DeadLetter, SeriesMeta, WriteBatch } from '../storage/port.js';
import type { ParsedMessage } from './telemetry.js';

export interface DeadLetterOptions {
  /** raw payload bytes kept per dead letter */
  maxPayloadBytes: number;
}

/**
 * Columnar batch for the writer thread: device and metric names are
 * dictionary-encoded so each distinct string crosses the thread boundary once,
 * and the numeric columns are typed arrays that can be transferred, not copied.
 */
export function toWriteBatch(messages: readonly ParsedMessage[], options: DeadLetterOptions): WriteBatch {
  let rows = 0;
  for (const m of messages) rows += m.readings.length;

  const devices: string[] = [];
  const metrics: string[] = [];
  const deviceIds = new Map<string, number>();
  const metricIds = new Map<string, number>();
  const deviceIndex = new Uint32Array(rows);
  const metricIndex = new Uint32Array(rows);
  const ts = new Float64Array(rows);
  const value = new Float64Array(rows);
  const deadLetters: DeadLetter[] = [];
  // by device index: the newest receive time of its messages
  const seen: number[] = [];

  let row = 0;
  let meta: Map<string, SeriesMeta> | undefined;
  const deviceOf = (deviceId: string, receivedAt: number): number => {
    let d = deviceIds.get(deviceId);
    if (d === undefined) {
      d = devices.push(deviceId) - 1;
      deviceIds.set(deviceId, d);
      seen.push(receivedAt);
    } else if (receivedAt > seen[d]!) seen[d] = receivedAt;
    return d;
  };
  for (const m of messages) {
    if (m.deviceId !== null && m.readings.length > 0) {
      const d = deviceOf(m.deviceId, m.message.receivedAt);
      for (const r of m.readings) {
        let k = metricIds.get(r.metric);
        if (k === undefined) {
          k = metrics.push(r.metric) - 1;
          metricIds.set(r.metric, k);
        }
        // An adapter's message may hold several devices (Influx lines).
        deviceIndex[row] =
          r.deviceId === undefined || r.deviceId === m.deviceId
            ? d
            : deviceOf(r.deviceId, m.message.receivedAt);
        metricIndex[row] = k;
        ts[row] = r.ts;
        value[row] = r.value;
        row++;
      }
    }
    if (m.seriesMeta !== undefined) {
      meta ??= new Map();
      for (const sm of m.seriesMeta) meta.set(`${sm.deviceId}\u0000${sm.metric}`, sm);
    }
    if (m.rejectedCount > 0) deadLetters.push(toDeadLetter(m, options));
  }

  // Every device in the dictionary was seen: the sightings are the dictionary, in order.
  const seenIndex = new Uint32Array(devices.length);
  for (let d = 0; d < seenIndex.length; d++) seenIndex[d] = d;
  const batch: WriteBatch = {
    readings: { devices, metrics, deviceIndex, metricIndex, ts, value },
    deadLetters,
    devices: { deviceIndex: seenIndex, seenAt: Float64Array.from(seen) },
  };
  if (meta !== undefined) batch.seriesMeta = [...meta.values()];
  return batch;
}

function toDeadLetter(m: ParsedMessage, options: DeadLetterOptions): DeadLetter {
  const payload = m.message.payload;
  const first = m.rejections[0];
  return {
    receivedAt: m.message.receivedAt,
    deviceId: m.deviceId,
    topic: m.message.topic,
    code: m.messageError ?? first?.code ?? 'GW_ERR_PAYLOAD_SHAPE',
    rejections: m.rejections,
    rejectedCount: m.rejectedCount,
    acceptedCount: m.readings.length,
    // A copy, so the dead letter does not pin the socket's whole read buffer.
    payload: Uint8Array.prototype.slice.call(payload, 0, options.maxPayloadBytes),
    payloadBytes: payload.byteLength,
  };
}
