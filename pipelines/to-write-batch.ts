import type { DeadLetter, ReadingColumns, SeriesMeta, WriteBatch } from '../storage/port.js';
import { NO_DEVICE_NUMBER } from './device-numbers.js';
import type { IngestMessage, ParsedMessage } from './telemetry.js';

export interface DeadLetterOptions {
  /** raw payload bytes kept per dead letter */
  maxPayloadBytes: number;
}

/**
 * Columnar batch for the writer thread: device and metric names are
 * dictionary-encoded so each distinct string crosses the thread boundary once,
 * and the numeric columns are typed arrays that can be transferred, not copied.
 *
 * A batch being gathered while it waits for the writer. Messages are folded
 * into columns as they arrive and only what settles them is kept: at
 * saturation thousands wait for a commit, long enough to outlive a
 * young-generation collection, and a decoded message with its reading objects
 * was several objects each to copy and promote; a column is one.
 */
export class WriteBatchBuilder {
  /** the messages to settle once the batch is committed, in arrival order */
  readonly messages: IngestMessage[] = [];
  #rows = 0;
  readonly #devices: string[] = [];
  /** by device index: its number (device-numbers.ts), or NO_DEVICE_NUMBER */
  readonly #deviceNumbers: number[] = [];
  readonly #metrics: string[] = [];
  readonly #deviceIds = new Map<string, number>();
  readonly #metricIds = new Map<string, number>();
  /** the last message's metric names and their indexes, by position */
  readonly #lastNames: string[] = [];
  readonly #lastIndexes: number[] = [];
  #deviceIndex = new Uint32Array(64);
  #metricIndex = new Uint32Array(64);
  #ts = new Float64Array(64);
  #value = new Float64Array(64);
  /** by device index: the newest receive time of its messages */
  readonly #seen: number[] = [];
  readonly #deadLetters: DeadLetter[] = [];
  #meta: Map<string, SeriesMeta> | undefined;

  constructor(private readonly options: DeadLetterOptions) {}

  get readings(): number {
    return this.#rows;
  }

  add(messages: readonly ParsedMessage[]): this {
    for (const m of messages) {
      this.messages.push(m.message);
      if (m.deviceId !== null && m.readings.length > 0) {
        this.#reserve(m.readings.length);
        const route = m.message.route;
        const no =
          typeof route === 'object' && route.deviceNo !== undefined && route.deviceId === m.deviceId
            ? route.deviceNo
            : NO_DEVICE_NUMBER;
        const d = this.#device(m.deviceId, m.message.receivedAt, no);
        const readings = m.readings;
        for (let j = 0; j < readings.length; j++) {
          const r = readings[j]!;
          const row = this.#rows++;
          // An adapter's message may hold several devices (Influx lines).
          this.#deviceIndex[row] =
            r.deviceId === undefined || r.deviceId === m.deviceId
              ? d
              : this.#device(r.deviceId, m.message.receivedAt, NO_DEVICE_NUMBER);
          // A fleet's messages mostly name the same metrics in the same order:
          // the last message's j-th metric answers without a lookup.
          let k: number;
          if (j < this.#lastNames.length && this.#lastNames[j] === r.metric) k = this.#lastIndexes[j]!;
          else {
            k = this.#metric(r.metric);
            this.#lastNames[j] = r.metric;
            this.#lastIndexes[j] = k;
          }
          this.#metricIndex[row] = k;
          this.#ts[row] = r.ts;
          this.#value[row] = r.value;
        }
      }
      if (m.seriesMeta !== undefined) {
        this.#meta ??= new Map();
        for (const sm of m.seriesMeta) this.#meta.set(`${sm.deviceId}\u0000${sm.metric}`, sm);
      }
      if (m.rejectedCount > 0) this.#deadLetters.push(toDeadLetter(m, this.options));
    }
    return this;
  }

  /** The batch to write: its columns are exactly as long as its readings, so they can be transferred whole. */
  build(): WriteBatch {
    // Every device in the dictionary was seen: the sightings are the dictionary, in order.
    const seenIndex = new Uint32Array(this.#devices.length);
    for (let d = 0; d < seenIndex.length; d++) seenIndex[d] = d;
    const batch: WriteBatch = {
      readings: this.columns(),
      deadLetters: this.#deadLetters,
      devices: { deviceIndex: seenIndex, seenAt: Float64Array.from(this.#seen) },
    };
    if (this.#meta !== undefined) batch.seriesMeta = [...this.#meta.values()];
    return batch;
  }

  /**
   * The readings in columns of their own, on each call: what is written
   * crosses to the writer thread by transfer and is gone from this one.
   */
  columns(): ReadingColumns {
    const n = this.#rows;
    return {
      devices: this.#devices,
      deviceNumbers: Int32Array.from(this.#deviceNumbers),
      metrics: this.#metrics,
      deviceIndex: this.#deviceIndex.slice(0, n),
      metricIndex: this.#metricIndex.slice(0, n),
      ts: this.#ts.slice(0, n),
      value: this.#value.slice(0, n),
    };
  }

  #reserve(more: number): void {
    const need = this.#rows + more;
    if (need <= this.#ts.length) return;
    let size = this.#ts.length * 2;
    while (size < need) size *= 2;
    this.#deviceIndex = grow(this.#deviceIndex, new Uint32Array(size));
    this.#metricIndex = grow(this.#metricIndex, new Uint32Array(size));
    this.#ts = grow(this.#ts, new Float64Array(size));
    this.#value = grow(this.#value, new Float64Array(size));
  }

  #device(deviceId: string, receivedAt: number, no: number): number {
    let d = this.#deviceIds.get(deviceId);
    if (d === undefined) {
      d = this.#devices.push(deviceId) - 1;
      this.#deviceIds.set(deviceId, d);
      this.#seen.push(receivedAt);
      this.#deviceNumbers.push(no);
    } else {
      if (receivedAt > this.#seen[d]!) this.#seen[d] = receivedAt;
      if (no !== NO_DEVICE_NUMBER) this.#deviceNumbers[d] = no;
    }
    return d;
  }

  #metric(metric: string): number {
    let k = this.#metricIds.get(metric);
    if (k === undefined) {
      k = this.#metrics.push(metric) - 1;
      this.#metricIds.set(metric, k);
    }
    return k;
  }
}

function grow<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
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
