// Sparkplug B payloads as an edge node sends them, written field by field
// with protobuf's wire format (field numbers of the specification's
// sparkplug_b.proto): the simulator's and the tests' encoder, independent of
// the schema the gateway decodes with.

import protobuf from 'protobufjs';

export interface EdgeMetric {
  name?: string;
  alias?: number;
  /** epoch ms */
  timestamp?: number;
  /** Sparkplug data type: 3 Int32, 4 Int64, 9 Float, 10 Double, 11 Boolean, 12 String */
  datatype?: number;
  value: number | boolean | string;
}

export interface EdgePayload {
  timestamp?: number;
  seq?: number;
  metrics: EdgeMetric[];
}

export function encodeSparkplug(payload: EdgePayload): Uint8Array {
  const w = protobuf.Writer.create();
  if (payload.timestamp !== undefined) w.uint32((1 << 3) | 0).uint64(payload.timestamp);
  for (const m of payload.metrics) {
    w.uint32((2 << 3) | 2).fork();
    writeMetric(w, m);
    w.ldelim();
  }
  if (payload.seq !== undefined) w.uint32((3 << 3) | 0).uint64(payload.seq);
  return w.finish();
}

function writeMetric(w: protobuf.Writer, m: EdgeMetric): void {
  if (m.name !== undefined) w.uint32((1 << 3) | 2).string(m.name);
  if (m.alias !== undefined) w.uint32((2 << 3) | 0).uint64(m.alias);
  if (m.timestamp !== undefined) w.uint32((3 << 3) | 0).uint64(m.timestamp);
  const datatype = m.datatype ?? defaultType(m.value);
  w.uint32((4 << 3) | 0).uint32(datatype);
  if (typeof m.value === 'boolean') w.uint32((14 << 3) | 0).bool(m.value);
  else if (typeof m.value === 'string') w.uint32((15 << 3) | 2).string(m.value);
  else if (datatype === 9) w.uint32((12 << 3) | 5).float(m.value);
  else if (datatype === 10) w.uint32((13 << 3) | 1).double(m.value);
  else if (datatype === 4 || datatype === 8) w.uint32((11 << 3) | 0).uint64(m.value);
  // Int8/16/32 and UInt8/16/32 travel in int_value as uint32 (two's complement).
  else w.uint32((10 << 3) | 0).uint32(m.value >>> 0);
}

function defaultType(v: number | boolean | string): number {
  if (typeof v === 'boolean') return 11;
  if (typeof v === 'string') return 12;
  return 10;
}

/** The decoded NCMD metric names, to recognise a rebirth request. */
export function metricNames(bytes: Uint8Array): string[] {
  const r = protobuf.Reader.create(bytes);
  const names: string[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1) names.push(r.string());
        else r.skipType(t & 7);
      }
    } else r.skipType(tag & 7);
  }
  return names;
}
