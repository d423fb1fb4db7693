// Types that flow through the ingest pipeline.

import type { ErrorCode } from '../core/errors.js';
import type { Rejection, SeriesMeta } from '../storage/port.js';
import type { PayloadAdapter } from './adapters/adapter.js';

export interface TopicRoute {
  deviceId: string;
  /** set for devices/{id}/telemetry/{metric} */
  metric?: string;
  /** the device's number (device-numbers.ts), when the broker hook gave it one */
  deviceNo?: number;
}

export interface Reading {
  /** set by payload adapters, whose one message may speak for several devices (Influx lines) */
  deviceId?: string;
  metric: string;
  ts: number;
  value: number;
}

/** What the broker hands the pipeline: one PUBLISH on a telemetry topic. */
export interface IngestMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  receivedAt: number;
  /**
   * Settles the message: called once, after its readings and dead letter are
   * committed (err undefined), or with the storage error. For QoS >= 1 this is
   * what releases the PUBACK/PUBREC. `at` is when (performance.now()), read
   * once for the whole batch the message settles with.
   */
  settle: (err?: Error, at?: number) => void;
  /** routeTopic(topic), when the broker hook already worked it out: decode does not split the topic twice */
  route?: TopicRoute | ErrorCode;
  /**
   * The authenticated device's allowed metrics, when its registry entry
   * limits them: any other metric is dead-lettered as GW_ERR_METRIC_NOT_ALLOWED.
   */
  allowedMetrics?: ReadonlySet<string>;
  /** the payload adapter that owns the topic (pipelines/adapters/); absent for devices/… */
  adapter?: PayloadAdapter;
}

/** A message after decoding and validation. */
export interface ParsedMessage {
  message: IngestMessage;
  deviceId: string | null;
  readings: Reading[];
  /** the first rejections, capped; rejectedCount counts them all */
  rejections: Rejection[];
  rejectedCount: number;
  /** set when the whole message was refused, not just some readings */
  messageError?: ErrorCode;
  /** units and device classes the format stated for the series it wrote */
  seriesMeta?: SeriesMeta[];
}

export interface ValidationLimits {
  maxPayloadBytes: number;
  maxReadingsPerMessage: number;
  /** how far ahead of the receive time a ts may be */
  maxFutureMs: number;
  /** how far behind the receive time a ts may be */
  maxPastMs: number;
}
