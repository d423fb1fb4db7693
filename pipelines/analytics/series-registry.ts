// Small integer ids for (device, metric), so windows and tasks carry numbers
// in typed arrays instead of strings. Grows only: a gateway sees a bounded
// fleet, and an id must stay valid while a task that names it is in flight.

export interface SeriesNames {
  devices: string[];
  metrics: string[];
  /** index into devices, per series id */
  deviceOf: Uint32Array;
  /** index into metrics, per series id */
  metricOf: Uint32Array;
}

export class SeriesRegistry {
  readonly #byDevice = new Map<string, Map<string, number>>();
  readonly #deviceIds = new Map<string, number>();
  readonly #metricIds = new Map<string, number>();
  readonly #devices: string[] = [];
  readonly #metrics: string[] = [];
  #deviceOf: Uint32Array = new Uint32Array(1024);
  #metricOf: Uint32Array = new Uint32Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The metrics of one device, to look up each reading with one string hash. */
  device(deviceId: string): Map<string, number> {
    let metrics = this.#byDevice.get(deviceId);
    if (metrics === undefined) {
      metrics = new Map();
      this.#byDevice.set(deviceId, metrics);
    }
    return metrics;
  }

  id(deviceId: string, metric: string, metrics = this.device(deviceId)): number {
    const known = metrics.get(metric);
    if (known !== undefined) return known;
    const id = this.#size++;
    if (id >= this.#deviceOf.length) {
      this.#deviceOf = grow(this.#deviceOf);
      this.#metricOf = grow(this.#metricOf);
    }
    this.#deviceOf[id] = intern(this.#deviceIds, this.#devices, deviceId);
    this.#metricOf[id] = intern(this.#metricIds, this.#metrics, metric);
    metrics.set(metric, id);
    return id;
  }

  deviceName(id: number): string {
    return this.#devices[this.#deviceOf[id]!]!;
  }

  metricName(id: number): string {
    return this.#metrics[this.#metricOf[id]!]!;
  }

  /** A snapshot for one write: the arrays are copied so later growth cannot race the clone. */
  names(): SeriesNames {
    return {
      devices: this.#devices.slice(),
      metrics: this.#metrics.slice(),
      deviceOf: this.#deviceOf.slice(0, this.#size),
      metricOf: this.#metricOf.slice(0, this.#size),
    };
  }
}

function intern(ids: Map<string, number>, names: string[], name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    id = names.push(name) - 1;
    ids.set(name, id);
  }
  return id;
}

function grow(array: Uint32Array): Uint32Array<ArrayBuffer> {
  const grown = new Uint32Array(array.length * 2);
  grown.set(array);
  return grown;
}
