// The payload nearly every sensor sends, read straight from its bytes: one
// JSON object of numbers, flat ({"ts": 1732600000000, "temperature": 21.5})
// or with its metrics under "values". The general path decodes the bytes to
// a string, JSON.parse builds objects, and validation walks them; at
// saturation those were about 9 % of the main thread's busy time in a
// profile, for a message whose readings are known by its closing brace.
//
// The reader takes only what it can answer exactly as the general path does
// (parse-telemetry.ts), and hands anything else back, untouched, to it:
// non-ASCII bytes, escapes, a key outside the metric alphabet or one V8
// would order as an array index, a repeated key, a value that is not a
// number, a number it cannot convert exactly, a field beside "values", a ts
// out of range, a metric the device may not send, more than 32 readings. So
// every error, dead letter and rejection still comes from the general path
// alone. test/pipelines/flat-json.test.ts holds the two to the same answers.

import { NAME_PATTERN } from '../core/names.js';
import type { IngestMessage, ParsedMessage, Reading, ValidationLimits } from './telemetry.js';
import { NO_REJECTIONS, parseTs } from './validate-telemetry.js';

export interface FlatJsonReader {
  /** The message's readings, or undefined for the general path. */
  read(message: IngestMessage, deviceId: string, limits: ValidationLimits): ParsedMessage | undefined;
}

/**
 * Key strings remembered, so that a fleet's few metric names are made once.
 * Past it, a new key takes the place of the one remembered longest: a device
 * sending ever new names cannot keep the fleet's real ones out for good.
 */
const KEYS_KEPT = 64;
/**
 * Metrics a message may have on this path. A repeated key is looked for among
 * the message's keys so far; past this many, that search would grow with the
 * square of the count, and such a message goes to the general path.
 */
const MAX_METRICS = 32;
/** Exact powers of ten: a double holds 10^0 … 10^22 exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Decimal digits that always fit a double's 53-bit mantissa. */
const MAX_DIGITS = 15;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const TS = [0x74, 0x73];
const VALUES = [0x76, 0x61, 0x6c, 0x75, 0x65, 0x73];

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= ZERO && b <= NINE;
}

/**
 * One message's bytes and a cursor in them. One per reader, reused for every
 * message: the pipeline reads one message at a time, and an object per
 * message (or a closure per step) is what this path exists to avoid.
 */
class Cursor {
  buf: Uint8Array = new Uint8Array(0);
  p = 0;
  end = 0;
  /** the last number read */
  value = 0;
  /** the last key read: [keyStart, keyEnd) */
  keyStart = 0;
  keyEnd = 0;

  reset(buf: Uint8Array): void {
    this.buf = buf;
    this.p = 0;
    this.end = buf.length;
  }

  skipSpace(): void {
    const { buf, end } = this;
    let p = this.p;
    while (p < end) {
      const b = buf[p]!;
      if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
      p++;
    }
    this.p = p;
  }

  /** Consumes `byte` (and the space after it), or false. */
  take(byte: number): boolean {
    if (this.buf[this.p] !== byte) return false;
    this.p++;
    this.skipSpace();
    return true;
  }

  /**
   * A key and its colon, or false for the general path. Its bytes are judged
   * as a metric name later (keyString), once per name the reader remembers:
   * an escape, a control or non-ASCII byte all fail the name's alphabet.
   */
  key(): boolean {
    const { buf, end } = this;
    if (buf[this.p] !== QUOTE) return false;
    let p = this.p + 1;
    let digitsOnly = true;
    while (p < end && buf[p] !== QUOTE) {
      const b = buf[p]!;
      if (b < ZERO || b > NINE) digitsOnly = false;
      p++;
    }
    // Unterminated, or one JSON.parse would order first (an array index; the empty key too).
    if (p >= end || digitsOnly) return false;
    this.keyStart = this.p + 1;
    this.keyEnd = p;
    this.p = p + 1;
    this.skipSpace();
    return this.take(COLON);
  }

  keyIs(word: readonly number[]): boolean {
    const { buf, keyStart } = this;
    if (this.keyEnd - keyStart !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (buf[keyStart + i] !== word[i]) return false;
    return true;
  }

  /** A JSON number converted exactly, into `value`, or false. */
  number(): boolean {
    const { buf, end } = this;
    let p = this.p;
    let negative = false;
    if (buf[p] === MINUS) {
      negative = true;
      p++;
    }
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    const first = buf[p];
    if (first === ZERO) p++;
    else if (isDigit(first)) {
      while (p < end && isDigit(buf[p])) {
        mantissa = mantissa * 10 + (buf[p]! - ZERO);
        digits++;
        p++;
      }
    } else return false;
    if (buf[p] === DOT) {
      p++;
      const start = p;
      while (p < end && isDigit(buf[p])) {
        mantissa = mantissa * 10 + (buf[p]! - ZERO);
        if (mantissa !== 0) digits++;
        scale--;
        p++;
      }
      if (p === start) return false;
    }
    if (buf[p] === 0x65 || buf[p] === 0x45) {
      p++;
      let exponentNegative = false;
      if (buf[p] === MINUS || buf[p] === PLUS) {
        exponentNegative = buf[p] === MINUS;
        p++;
      }
      const start = p;
      let exponent = 0;
      while (p < end && isDigit(buf[p])) {
        exponent = exponent * 10 + (buf[p]! - ZERO);
        if (exponent > 1000) return false;
        p++;
      }
      if (p === start) return false;
      scale += exponentNegative ? -exponent : exponent;
    }
    // Exact: an integer below 2^53 times or over an exact power of ten is
    // one correctly rounded operation, as JSON.parse's conversion is.
    if (digits > MAX_DIGITS) return false;
    let magnitude: number;
    if (mantissa === 0) magnitude = 0;
    else if (scale >= 0 && scale <= 22) magnitude = mantissa * POW10[scale]!;
    else if (scale < 0 && scale >= -22) magnitude = mantissa / POW10[-scale]!;
    else return false;
    this.value = negative ? -magnitude : magnitude;
    this.p = p;
    this.skipSpace();
    return true;
  }

  /** After a member: 1 at the object's end (consumed), 0 after a comma, -1 if neither. */
  after(): number {
    if (this.take(COMMA)) return 0;
    return this.take(CLOSE) ? 1 : -1;
  }
}

export function createFlatJsonReader(): FlatJsonReader {
  // Remembered keys: their bytes (for the match) and their string.
  const keyBytes: Uint8Array[] = [];
  const keyText: string[] = [];
  // the remembered key the next new one replaces, once KEYS_KEPT are
  let replaced = 0;
  const at = new Cursor();
  // The message's metrics so far: `count` of them. Reused, never shortened:
  // setting an array's length to 0 drops its backing store, and refilling it
  // allocated two stores per message.
  const metrics: string[] = new Array<string>(MAX_METRICS).fill('');
  const values = new Float64Array(MAX_METRICS);
  let count = 0;

  /** The key just read as a metric name, or undefined if it is not one (core/names.ts). */
  const keyString = (): string | undefined => {
    const { buf, keyStart, keyEnd } = at;
    const n = keyEnd - keyStart;
    for (let k = 0; k < keyBytes.length; k++) {
      const known = keyBytes[k]!;
      if (known.length !== n) continue;
      let i = 0;
      while (i < n && known[i] === buf[keyStart + i]) i++;
      if (i === n) return keyText[k]!;
    }
    // A byte per character: a byte outside the name's ASCII alphabet stays outside it.
    const text = String.fromCharCode.apply(null, buf.subarray(keyStart, keyEnd) as unknown as number[]);
    if (!NAME_PATTERN.test(text)) return undefined;
    // a copy: a view would keep the message's buffer for as long as the key is remembered
    const bytes = new Uint8Array(buf.subarray(keyStart, keyEnd));
    if (keyBytes.length < KEYS_KEPT) {
      keyBytes.push(bytes);
      keyText.push(text);
    } else {
      keyBytes[replaced] = bytes;
      keyText[replaced] = text;
      replaced = (replaced + 1) % KEYS_KEPT;
    }
    return text;
  };

  /** The metric whose key was just read, and its number; false for the general path. */
  const metric = (limit: number): boolean => {
    if (!at.number()) return false;
    const name = keyString();
    if (name === undefined || count >= limit || count >= MAX_METRICS) return false;
    for (let i = 0; i < count; i++) if (metrics[i] === name) return false;
    metrics[count] = name;
    values[count] = at.value;
    count++;
    return true;
  };

  // the ts members() read, NaN for none
  let ts = Number.NaN;
  /** The members of {"ts": …, "m": …} or {"ts": …, "values": {"m": …}}; false for the general path. */
  const members = (limit: number): boolean => {
    ts = Number.NaN;
    let nested = false;
    let flat = false;
    for (let step = 0; step === 0; ) {
      if (!at.key()) return false;
      if (at.keyIs(TS)) {
        if (!Number.isNaN(ts) || !at.number()) return false;
        ts = at.value;
      } else if (at.keyIs(VALUES)) {
        // Beside "values", a metric is an unknown field (validate-telemetry.ts): the general path's.
        if (nested || flat || !at.take(OPEN)) return false;
        nested = true;
        for (let inner = 0; inner === 0; ) {
          // Inside "values", "ts" and "values" are metric names to the general path: rare, and its to read.
          if (!at.key() || at.keyIs(TS) || at.keyIs(VALUES) || !metric(limit)) return false;
          inner = at.after();
          if (inner < 0) return false;
        }
      } else {
        if (nested || !metric(limit)) return false;
        flat = true;
      }
      step = at.after();
      if (step < 0) return false;
    }
    return true;
  };

  return {
    read(message, deviceId, limits) {
      at.reset(message.payload);
      count = 0;
      at.skipSpace();
      if (!at.take(OPEN)) return undefined;
      if (!members(limits.maxReadingsPerMessage) || at.p !== at.end || count === 0) return undefined;
      // Out of range, the general path rejects it, with its code.
      const stamp = parseTs(Number.isNaN(ts) ? undefined : ts, message.receivedAt, limits);
      if (typeof stamp === 'string') return undefined;
      const allowed = message.allowedMetrics;
      // Sized once: an empty array grows to 17 slots at its first push.
      const readings = new Array<Reading>(count);
      for (let i = 0; i < count; i++) {
        const name = metrics[i]!;
        if (allowed !== undefined && !allowed.has(name)) return undefined;
        readings[i] = { metric: name, ts: stamp, value: values[i]! };
      }
      return { message, deviceId, readings, rejections: NO_REJECTIONS, rejectedCount: 0 };
    },
  };
}
