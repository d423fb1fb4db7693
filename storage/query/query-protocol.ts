// Messages between the query service (main thread) and its pool workers.
import type { ErrorCode } from '../../core/errors.js';
import type { AnomalyQuery, SeriesQuery } from '../query-port.js';

export type QueryTask =
  | { op: 'devices' }
  | { op: 'latest'; deviceId: string; now: number }
  | { op: 'metrics' }
  | { op: 'series'; query: SeriesQuery }
  | { op: 'anomalies'; query: AnomalyQuery };

export type QueryReply =
  | { ok: true; value: unknown }
  | { ok: false; code: ErrorCode; message: string; gateway: boolean };
