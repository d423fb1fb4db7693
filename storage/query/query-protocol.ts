// Messages between the query service (main thread) and its pool workers.
import type { ErrorCode } from '../../core/errors.js';
import type {
  AnomalyQuery,
  DeadLetterQuery,
  ExportCursor,
  ExportQuery,
  ReadingsQuery,
  SeriesQuery,
} from '../query-port.js';
import type { PromEvaluation, PromSeriesRange } from './promql/promql-plan.js';

export type QueryTask =
  | { op: 'devices' }
  | { op: 'latest'; deviceId: string }
  | { op: 'metrics' }
  | { op: 'series'; query: SeriesQuery }
  | { op: 'anomalies'; query: AnomalyQuery }
  | { op: 'readings'; query: ReadingsQuery }
  | { op: 'deadLetters'; query: DeadLetterQuery }
  | { op: 'exportPage'; query: ExportQuery; after: ExportCursor | undefined; limit: number }
  | { op: 'promql'; evaluation: PromEvaluation }
  | { op: 'promSeries'; range?: PromSeriesRange };

export type QueryReply =
  | { ok: true; value: unknown }
  | { ok: false; code: ErrorCode; message: string; gateway: boolean };
