import type { ReadingChunk } from './committed-readings.js';

/** Append-only columns that hand their buffers over whole (to be moved to a worker). */
export class ColumnBuffer {
  #series = new Uint32Array(256);
  #ts = new Float64Array(256);
  #value = new Float64Array(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(series: number, ts: number, value: number): void {
    if (this.#length === this.#ts.length) this.#grow();
    this.#series[this.#length] = series;
    this.#ts[this.#length] = ts;
    this.#value[this.#length] = value;
    this.#length++;
  }

  /** The contents; the buffer starts over empty and keeps no reference to them. */
  take(): ReadingChunk {
    const n = this.#length;
    const taken = {
      series: this.#series.subarray(0, n),
      ts: this.#ts.subarray(0, n),
      value: this.#value.subarray(0, n),
    };
    this.#series = new Uint32Array(256);
    this.#ts = new Float64Array(256);
    this.#value = new Float64Array(256);
    this.#length = 0;
    return taken;
  }

  #grow(): void {
    const size = this.#ts.length * 2;
    const series = new Uint32Array(size);
    const ts = new Float64Array(size);
    const value = new Float64Array(size);
    series.set(this.#series);
    ts.set(this.#ts);
    value.set(this.#value);
    this.#series = series;
    this.#ts = ts;
    this.#value = value;
  }
}
