// A small DDSketch (Masson, Rim, Lee: "DDSketch: a fast and fully-mergeable
// quantile sketch with relative-error guarantees", VLDB 2019).
//
// Guarantee: for 0 <= q <= 1, quantile(q) is within RELATIVE_ACCURACY (1 %) of
// the exact q-quantile x[floor(q * (n - 1))] of the sorted inputs, for values of
// either sign; |x| below MIN_INDEXABLE counts as 0 and is returned exactly as 0.
// Merging adds bucket counts, so a merged sketch keeps the same guarantee:
// that is what lets 1 h and fleet-wide buckets answer percentiles.
// Buckets are not collapsed: their number grows with log(max/min) of the
// values (about 350 for a span of 1 to 1000), never with the count.

export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
export const MIN_INDEXABLE = 1e-9;
const FORMAT_VERSION = 1;

export class DDSketch {
  readonly #positive = new Map<number, number>();
  readonly #negative = new Map<number, number>();
  #zero = 0;
  #count = 0;
  // The bin last added to, and the count it is still owed. A sensor's
  // consecutive readings mostly fall in the same 2 %-wide bin, so most adds
  // touch no Map: the writer adds every reading to its minute's sketch, and a
  // Map get and set per reading was a tenth of that thread's time. Every read
  // of the stores settles the debt first (#settle).
  #owedStore: Map<number, number> | undefined;
  #owedIndex = 0;
  #owed = 0;

  get count(): number {
    return this.#count;
  }

  add(value: number, weight = 1): void {
    if (value >= MIN_INDEXABLE) this.#owe(this.#positive, indexOf(value), weight);
    else if (value <= -MIN_INDEXABLE) this.#owe(this.#negative, indexOf(-value), weight);
    else this.#zero += weight;
    this.#count += weight;
  }

  #owe(store: Map<number, number>, index: number, weight: number): void {
    if (store === this.#owedStore && index === this.#owedIndex) {
      this.#owed += weight;
      return;
    }
    this.#settle();
    this.#owedStore = store;
    this.#owedIndex = index;
    this.#owed = weight;
  }

  #settle(): void {
    if (this.#owed === 0 || this.#owedStore === undefined) return;
    bump(this.#owedStore, this.#owedIndex, this.#owed);
    this.#owed = 0;
  }

  merge(other: DDSketch): void {
    other.#settle();
    this.#settle();
    for (const [i, c] of other.#positive) bump(this.#positive, i, c);
    for (const [i, c] of other.#negative) bump(this.#negative, i, c);
    this.#zero += other.#zero;
    this.#count += other.#count;
  }

  /** null for an empty sketch */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    this.#settle();
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.#count - 1));
    let seen = 0;
    // Most negative first: the largest magnitude of the negative store.
    const negative = [...this.#negative.keys()].sort((a, b) => b - a);
    for (const i of negative) {
      seen += this.#negative.get(i)!;
      if (seen > rank) return -bucketValue(i);
    }
    seen += this.#zero;
    if (seen > rank) return 0;
    const positive = [...this.#positive.keys()].sort((a, b) => a - b);
    for (const i of positive) {
      seen += this.#positive.get(i)!;
      if (seen > rank) return bucketValue(i);
    }
    return bucketValue(positive[positive.length - 1]!);
  }

  /**
   * Compact bytes: version, zero count, then each store as a bin count and
   * (zigzag delta of the index, count) varint pairs in index order. A sensor's
   * minute of readings usually fits in a few bins: tens of bytes.
   */
  encode(): Uint8Array {
    this.#settle();
    const out = new ByteWriter();
    out.byte(FORMAT_VERSION);
    out.varint(this.#zero);
    writeStore(out, this.#positive);
    writeStore(out, this.#negative);
    return out.bytes();
  }

  static decode(bytes: Uint8Array): DDSketch {
    const sketch = new DDSketch();
    sketch.mergeEncoded(bytes);
    return sketch;
  }

  /**
   * merge(DDSketch.decode(bytes)) without the intermediate sketch: a fleet-wide
   * query merges hundreds of thousands of stored sketches, and the temporary
   * maps were most of its cost.
   */
  mergeEncoded(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#settle();
    const input = new ByteReader(bytes);
    const version = input.byte();
    if (version !== FORMAT_VERSION) throw new RangeError(`unknown sketch format ${version}`);
    const zero = input.varint();
    this.#zero += zero;
    this.#count += zero + readStore(input, this.#positive) + readStore(input, this.#negative);
  }
}

function indexOf(magnitude: number): number {
  return Math.ceil(Math.log(magnitude) / LN_GAMMA);
}

/** The bucket's midpoint in the relative sense: within RELATIVE_ACCURACY of anything in it. */
function bucketValue(index: number): number {
  return (2 * GAMMA ** index) / (GAMMA + 1);
}

function bump(store: Map<number, number>, index: number, weight: number): void {
  store.set(index, (store.get(index) ?? 0) + weight);
}

function writeStore(out: ByteWriter, store: Map<number, number>): void {
  const indexes = [...store.keys()].sort((a, b) => a - b);
  out.varint(indexes.length);
  let previous = 0;
  for (const i of indexes) {
    out.varint(zigzag(i - previous));
    out.varint(store.get(i)!);
    previous = i;
  }
}

function readStore(input: ByteReader, store: Map<number, number>): number {
  const bins = input.varint();
  let index = 0;
  let total = 0;
  for (let b = 0; b < bins; b++) {
    index += unzigzag(input.varint());
    const count = input.varint();
    bump(store, index, count);
    total += count;
  }
  return total;
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

class ByteWriter {
  #buffer = new Uint8Array(64);
  #length = 0;

  byte(b: number): void {
    if (this.#length === this.#buffer.length) {
      const grown = new Uint8Array(this.#buffer.length * 2);
      grown.set(this.#buffer);
      this.#buffer = grown;
    }
    this.#buffer[this.#length++] = b;
  }

  /** unsigned LEB128; arithmetic rather than bit ops so counts above 2^31 survive */
  varint(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

class ByteReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  byte(): number {
    if (this.#at >= this.#bytes.length) throw new RangeError('truncated sketch');
    return this.#bytes[this.#at++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
  }
}
