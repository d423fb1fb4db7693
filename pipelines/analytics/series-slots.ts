// Small integer slots for (device, metric), so tasks carry numbers in typed
// arrays and the workers' detector state is an array indexed by slot. At
// most `capacity` series hold a slot: when a new series needs one and all are
// taken, the least recently seen series gives its slot up (LRU) and its
// detector state starts over in the next task. A slot named by a task that
// has not come back is never given away, so a result always names the
// series its task meant.

import { setByNumber } from '../../core/by-number.js';

export class SeriesSlots {
  readonly #capacity: number;
  readonly #byDevice = new Map<string, Map<string, number>>();
  // The same maps by device number (pipelines/device-numbers.ts), where the
  // batch carries one: found by index, not by the device's name.
  readonly #byNumber: Array<Map<string, number> | undefined> = [];
  /** each slot's device number, or -1 */
  #deviceNo = new Int32Array(0);
  #device: string[] = [];
  #metric: string[] = [];
  // The recency list, most recent first, linked through the slots; -1 ends it.
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = -1;
  #tail = -1;
  /** the task each slot was last named in */
  #task = new Float64Array(0);
  /** the newest ts of each slot handed to the analytics (to spot retransmits) */
  #newest = new Float64Array(0);
  #size = 0;
  #reassigned: number[] = [];
  #evicted = 0;
  // A batch's readings come a message at a time, so the next reading's device
  // is mostly the last one's: that device's map, kept to save a lookup by name.
  #lastDevice: string | undefined;
  #lastMetrics: Map<string, number> | undefined;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#size;
  }

  /** Series that gave up their slot so far. */
  get evicted(): number {
    return this.#evicted;
  }

  /**
   * The slot of (deviceId, metric), for a reading that will travel in task
   * `task`; tasks up to `finished` have come back. -1 when every slot is
   * named by a task that has not: the reading cannot be scored.
   */
  slot(deviceId: string, metric: string, task: number, finished: number, deviceNo = -1): number {
    let metrics =
      deviceId === this.#lastDevice
        ? this.#lastMetrics
        : ((deviceNo >= 0 ? this.#byNumber[deviceNo] : undefined) ?? this.#byDevice.get(deviceId));
    let s = metrics?.get(metric);
    if (s === undefined) {
      s = this.#take(finished);
      if (s < 0) return -1;
      // Taking a slot may have dropped this device's map (its last series was the victim).
      if (metrics !== undefined && metrics.size === 0) metrics = this.#byDevice.get(deviceId);
      if (metrics === undefined) {
        metrics = new Map();
        this.#byDevice.set(deviceId, metrics);
      }
      if (deviceNo >= 0 && this.#byNumber[deviceNo] !== metrics)
        setByNumber(this.#byNumber, deviceNo, metrics);
      metrics.set(metric, s);
      this.#deviceNo[s] = deviceNo;
      this.#device[s] = deviceId;
      this.#metric[s] = metric;
      this.#newest[s] = Number.NEGATIVE_INFINITY;
      this.#reassigned.push(s);
    }
    this.#lastDevice = deviceId;
    this.#lastMetrics = metrics;
    this.#task[s] = task;
    this.#touch(s);
    return s;
  }

  deviceName(slot: number): string {
    return this.#device[slot]!;
  }

  metricName(slot: number): string {
    return this.#metric[slot]!;
  }

  newest(slot: number): number {
    return this.#newest[slot]!;
  }

  setNewest(slot: number, ts: number): void {
    this.#newest[slot] = ts;
  }

  /** Slots given to a series since the last call: their state must start over. */
  takeReassigned(): Uint32Array {
    const out = Uint32Array.from(this.#reassigned);
    this.#reassigned = [];
    return out;
  }

  #take(finished: number): number {
    if (this.#size < this.#capacity) {
      if (this.#size === this.#task.length) this.#grow();
      return this.#size++;
    }
    const victim = this.#tail;
    // The least recent slot is still out with a task: so is every other one.
    if (this.#task[victim]! > finished) return -1;
    const metrics = this.#byDevice.get(this.#device[victim]!)!;
    metrics.delete(this.#metric[victim]!);
    if (metrics.size === 0) {
      this.#byDevice.delete(this.#device[victim]!);
      const no = this.#deviceNo[victim]!;
      if (no >= 0 && this.#byNumber[no] === metrics) this.#byNumber[no] = undefined;
      if (metrics === this.#lastMetrics) this.#lastDevice = this.#lastMetrics = undefined;
    }
    this.#evicted++;
    return victim;
  }

  #touch(s: number): void {
    if (this.#head === s) return;
    const prev = this.#prev[s]!;
    const next = this.#next[s]!;
    // Unlink (a fresh slot has prev = next = -1 and is neither head nor tail)...
    if (prev >= 0) this.#next[prev] = next;
    if (next >= 0) this.#prev[next] = prev;
    if (this.#tail === s) this.#tail = prev;
    // ...and put it first.
    this.#prev[s] = -1;
    this.#next[s] = this.#head;
    if (this.#head >= 0) this.#prev[this.#head] = s;
    this.#head = s;
    if (this.#tail < 0) this.#tail = s;
  }

  #grow(): void {
    const size = Math.min(this.#capacity, Math.max(1024, this.#task.length * 2));
    const grow = <A extends Int32Array | Float64Array>(old: A, fresh: A, fill: number): A => {
      fresh.fill(fill);
      fresh.set(old);
      return fresh;
    };
    this.#prev = grow(this.#prev, new Int32Array(size), -1);
    this.#next = grow(this.#next, new Int32Array(size), -1);
    this.#task = grow(this.#task, new Float64Array(size), 0);
    this.#newest = grow(this.#newest, new Float64Array(size), Number.NEGATIVE_INFINITY);
    this.#deviceNo = grow(this.#deviceNo, new Int32Array(size), -1);
  }
}
