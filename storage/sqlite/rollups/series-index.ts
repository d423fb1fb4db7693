// Values by series id, for the writer's lookups once per reading (the
// minute folds' states, the stale marks' known series). Series ids are
// SQLite's INTEGER PRIMARY KEY: small integers, dense across a fleet. A Map
// of 15,000 of them cost a hashed probe into a table bigger than the cache on
// every reading: with the folds and the marks, a third of the writer thread's
// time. So once the ids are dense enough, an array indexed by id answers
// lookups too; a Map stays the record (and its iteration order), so a sparse
// index (one device replaying a day into a store with a million series ids)
// costs no more memory than before.

/** Dense: ids fill at least 1/SPREAD of 0..max. An array slot is 8 bytes; a Map entry several times that. */
const SPREAD = 8;
/** Below this many entries a Map is as fast, and a sparse start should not make an array. */
const MIN_DENSE = 64;

export class SeriesIndex<V> {
  readonly #map = new Map<number, V>();
  #byId: Array<V | undefined> | undefined;
  #maxId = -1;
  /** the size at which density is checked next while sparse */
  #checkAt = MIN_DENSE;

  get size(): number {
    return this.#map.size;
  }

  /** The entries in the order they were first set, as a Map's. */
  get entries(): ReadonlyMap<number, V> {
    return this.#map;
  }

  /** whether lookups go to the array (the ids are dense), not the Map */
  get dense(): boolean {
    return this.#byId !== undefined;
  }

  get(id: number): V | undefined {
    const byId = this.#byId;
    if (byId === undefined) return this.#map.get(id);
    return id < byId.length ? byId[id] : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: V): void {
    this.#map.set(id, value);
    if (id > this.#maxId) this.#maxId = id;
    const byId = this.#byId;
    if (byId !== undefined) {
      if (id < byId.length) byId[id] = value;
      else if (this.#dense()) this.#build();
      else this.#byId = undefined;
    } else if (this.#map.size >= this.#checkAt) {
      // Checked as the size doubles, so a sparse index pays for it O(1) per set.
      this.#checkAt = this.#map.size * 2;
      if (this.#dense()) this.#build();
    }
  }

  delete(id: number): boolean {
    const byId = this.#byId;
    if (byId !== undefined && id < byId.length) byId[id] = undefined;
    return this.#map.delete(id);
  }

  #dense(): boolean {
    return this.#map.size >= MIN_DENSE && this.#maxId < this.#map.size * SPREAD;
  }

  /**
   * Room for twice the ids seen, within twice the density bound (so ids that
   * keep just ahead of it do not rebuild it on every set); a packed array, never holey.
   */
  #build(): void {
    const length = Math.min(2 * this.#map.size * SPREAD, 2 * (this.#maxId + 1));
    const byId = new Array<V | undefined>(length).fill(undefined);
    for (const [id, value] of this.#map) byId[id] = value;
    this.#byId = byId;
  }
}
