// The contract every payload adapter keeps: it owns some topics outside
// devices/, and turns one message on them into readings of (device, metric,
// ts, value) or a coded refusal. Validation, batching, the commit before the
// ack, dead letters and analytics are the pipeline's (pipelines/adapters/adapt-message.ts).

import type { ErrorCode } from '../../core/errors.js';

export const ADAPTER_NAMES = ['tasmota', 'zigbee2mqtt', 'homeassistant', 'sparkplug', 'influx'] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];

/** One value, already under the stored names (core/names.ts toStoredName). */
export interface AdapterReading {
  deviceId: string;
  metric: string;
  /** epoch ms */
  ts: number;
  value: number;
  /** series metadata the format states (a unit, a Home Assistant device_class) */
  unit?: string;
  deviceClass?: string;
}

/** A part of a message that was refused while the rest was kept. */
export interface AdapterRejection {
  index: number;
  metric?: string;
  code: ErrorCode;
}

export type AdapterOutcome =
  /** values to store; `rejections` name what was refused beside them */
  | { kind: 'readings'; readings: AdapterReading[]; rejections?: AdapterRejection[] }
  /** a message that holds nothing to store and nothing wrong (a discovery config, a DEATH) */
  | { kind: 'ignored' }
  /** the whole message is refused: it is acked and dead-lettered with `code` */
  | { kind: 'refused'; code: ErrorCode; deviceId?: string };

export interface PayloadAdapter {
  readonly name: AdapterName;
  /** Cheap, and called for every PUBLISH outside devices/. */
  owns(topic: string): boolean;
  /** Pure apart from the adapter's own per-gateway state (aliases, discovery); never throws. */
  decode(topic: string, payload: Uint8Array, receivedAt: number): AdapterOutcome;
}

export const refused = (code: ErrorCode, deviceId?: string): AdapterOutcome =>
  deviceId === undefined ? { kind: 'refused', code } : { kind: 'refused', code, deviceId };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON, or undefined for bytes that are not. */
export function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(payload));
  } catch {
    return undefined;
  }
}

export function decodeText(payload: Uint8Array): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
