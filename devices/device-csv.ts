// The device list as CSV (RFC 4180: comma-separated, fields may be quoted
// with "", a quote inside doubled), for `devices import` and `devices export`.
// An export can be imported again (into another registry, with new tokens):
// its status and time columns are read and ignored.

import { GatewayError } from '../core/errors.js';
import type { DeviceCredential } from './credential-store.js';
import type { ImportRow, IssuedToken } from './device-admin.js';

/** Columns an import uses; `id` is required. */
const IMPORTED = ['id', 'metrics', 'note'] as const;
/** Columns an export adds, which an import accepts and ignores. */
const EXPORT_ONLY = ['status', 'created', 'rotated', 'revoked'] as const;

/** Parses an import file; GW_ERR_IMPORT_ROW names the line of the first problem. */
export function parseDeviceCsv(text: string): ImportRow[] {
  const records = parseCsv(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = records[0];
  if (header === undefined)
    throw rowError(1, 'the file is empty: the first line must be a header such as "id"');
  const names = header.fields.map((f) => f.trim().toLowerCase());
  for (const name of names) {
    if (!(IMPORTED as readonly string[]).includes(name) && !(EXPORT_ONLY as readonly string[]).includes(name))
      throw rowError(header.line, `unknown column "${name}" (columns: ${IMPORTED.join(', ')})`);
  }
  if (new Set(names).size !== names.length) throw rowError(header.line, 'a column is named twice');
  const idAt = names.indexOf('id');
  if (idAt < 0) throw rowError(header.line, 'the header has no "id" column');
  const metricsAt = names.indexOf('metrics');
  const noteAt = names.indexOf('note');

  const rows: ImportRow[] = [];
  for (const { line, fields } of records.slice(1)) {
    if (fields.length !== names.length)
      throw rowError(line, `${fields.length} fields where the header has ${names.length}`);
    const id = fields[idAt]!.trim();
    const metrics = metricsAt < 0 ? [] : splitMetrics(fields[metricsAt]!);
    const note = noteAt < 0 ? '' : fields[noteAt]!;
    rows.push({
      line,
      id,
      ...(metrics.length === 0 ? {} : { metrics }),
      ...(note === '' ? {} : { note }),
    });
  }
  return rows;
}

/** The registry as CSV: never a token or a hash. */
export function formatDeviceCsv(devices: readonly DeviceCredential[]): string {
  const lines = [[...IMPORTED, ...EXPORT_ONLY].join(',')];
  for (const d of devices) {
    lines.push(
      [
        d.deviceId,
        // ';' keeps the metric list one unquoted field
        d.allowedMetrics?.join(';') ?? '',
        quote(d.note ?? ''),
        d.revokedAt === null ? 'active' : 'revoked',
        iso(d.createdAt),
        iso(d.rotatedAt),
        iso(d.revokedAt),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The tokens file an import writes: `id,token`, one device a line. */
export function formatTokensCsv(tokens: readonly IssuedToken[]): string {
  // Ids match [A-Za-z0-9_.-] and tokens are base64url: nothing to quote.
  return `id,token\n${tokens.map((t) => `${t.deviceId},${t.token}\n`).join('')}`;
}

function splitMetrics(field: string): string[] {
  // "a;b", "a b", or "a,b" inside quotes
  return field.split(/[\s;,]+/).filter((m) => m !== '');
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}

function rowError(line: number, problem: string): GatewayError {
  return new GatewayError('GW_ERR_IMPORT_ROW', [line, problem]);
}

interface CsvRecord {
  /** the line it starts on */
  line: number;
  fields: string[];
}

/** Records of non-blank lines; a quoted field may span lines. */
function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let blank = true;
    for (;;) {
      if (i >= n) {
        if (quoted) throw rowError(start, 'a quoted field is never closed');
        fields.push(field);
        break;
      }
      const c = text[i++]!;
      if (quoted) {
        if (c === '"') {
          if (text[i] === '"') {
            field += '"';
            i++;
          } else quoted = false;
        } else {
          if (c === '\n') line++;
          field += c;
        }
        continue;
      }
      if (c === '\n' || (c === '\r' && text[i] === '\n')) {
        if (c === '\r') i++;
        line++;
        fields.push(field);
        break;
      }
      if (c.trim() !== '') blank = false;
      if (c === ',') {
        blank = false;
        fields.push(field);
        field = '';
      } else if (c === '"' && field.trim() === '') {
        field = '';
        quoted = true;
        blank = false;
      } else if (c === '"') {
        throw rowError(
          start,
          'a quote inside an unquoted field (quote the whole field and double the quote)',
        );
      } else field += c;
    }
    if (!blank) records.push({ line: start, fields });
  }
  return records;
}
