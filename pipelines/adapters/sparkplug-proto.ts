// The Sparkplug B payload schema, from the specification's sparkplug_b.proto
// (Eclipse Tahu, proto2, package org.eclipse.tahu.protobuf). Only what the
// gateway reads is declared: protobuf skips the fields it does not know
// (properties, metadata, datasets, templates), so such payloads still decode.
// protobufjs, not the sparkplug-payload package: that one pins protobufjs 6,
// while this reflection of the spec's own .proto runs on the maintained 7.x.

import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto2";
package org.eclipse.tahu.protobuf;
message Payload {
  message Metric {
    optional string name = 1;
    optional uint64 alias = 2;
    optional uint64 timestamp = 3;
    optional uint32 datatype = 4;
    optional bool is_historical = 5;
    optional bool is_transient = 6;
    optional bool is_null = 7;
    oneof value {
      uint32 int_value = 10;
      uint64 long_value = 11;
      float float_value = 12;
      double double_value = 13;
      bool boolean_value = 14;
      string string_value = 15;
      bytes bytes_value = 16;
    }
  }
  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
}
`;

/** The data types of the specification (section 6.4.16) the gateway stores. */
export const SparkplugType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
} as const;

/** A 64-bit field: protobufjs gives a Long when the long package is there, else a number. */
export type Uint64 = number | { toNumber(): number; toSigned(): { toNumber(): number } };

export interface SparkplugMetric {
  name?: string;
  alias?: Uint64;
  timestamp?: Uint64;
  datatype?: number;
  is_null?: boolean;
  int_value?: number;
  long_value?: Uint64;
  float_value?: number;
  double_value?: number;
  boolean_value?: boolean;
  string_value?: string;
}

export interface SparkplugPayload {
  timestamp?: Uint64;
  metrics: SparkplugMetric[];
  seq?: Uint64;
}

export const PayloadType = protobuf
  .parse(PROTO, { keepCase: true })
  .root.lookupType('org.eclipse.tahu.protobuf.Payload');

export function toNumber(v: Uint64 | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? v : v.toNumber();
}

/** A two's-complement 64-bit value read back as signed (Int64 in long_value). */
export function toSigned64(v: Uint64): number {
  return typeof v === 'number' ? v : v.toSigned().toNumber();
}

/** Decodes a Payload; undefined for bytes that are not one. */
export function decodePayload(bytes: Uint8Array): SparkplugPayload | undefined {
  try {
    const decoded = PayloadType.decode(bytes) as unknown as SparkplugPayload;
    // A decoded message answers unset fields with the prototype's defaults
    // (0, false, ''): spreading keeps only the fields the payload set.
    return { ...decoded, metrics: (decoded.metrics ?? []).map((m) => ({ ...m })) };
  } catch {
    return undefined;
  }
}

/** The NCMD that asks an edge node to publish its BIRTH again (specification 6.4.6, "Node Control/Rebirth"). */
export function rebirthPayload(now: number): Uint8Array {
  return PayloadType.encode(
    PayloadType.create({
      timestamp: now,
      metrics: [
        {
          name: 'Node Control/Rebirth',
          timestamp: now,
          datatype: SparkplugType.Boolean,
          boolean_value: true,
        },
      ],
    }),
  ).finish();
}
