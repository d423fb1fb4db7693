import { GatewayError } from '../core/errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RELATIVE = /^([+-])(\d+)([smhd])$/;
const EPOCH_MS = /^\d+$/;
// Strict on purpose: Date.parse alone accepts things like "1" or "March 7" and guesses.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Epoch ms for `now`, a relative offset (`-15m`, `+5m`, `-30s`, `-1h`, `-7d`),
 * an ISO 8601 date or date-time (no offset: local time; a bare date: UTC, as
 * Date.parse does), or epoch milliseconds. Throws GW_ERR_CLI_USAGE otherwise.
 */
export function parseTimeExpr(text: string, now: number): number {
  const expr = text.trim();
  if (expr === 'now') return now;
  const relative = RELATIVE.exec(expr);
  if (relative !== null) {
    const [, sign, amount, unit] = relative;
    const ms = Number(amount) * UNIT_MS[unit!]!;
    return sign === '-' ? now - ms : now + ms;
  }
  if (EPOCH_MS.test(expr)) {
    const ms = Number(expr);
    if (Number.isSafeInteger(ms)) return ms;
  } else if (ISO_8601.test(expr) && isCalendarDate(expr)) {
    const ms = Date.parse(expr);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new GatewayError('GW_ERR_CLI_USAGE', [
    `invalid time "${text}": use now, -15m, -1h, -7d, +5m, an ISO 8601 date or epoch milliseconds`,
  ]);
}

/** V8 rolls 2024-02-30 over to March 1; a typo should be an error instead. */
function isCalendarDate(expr: string): boolean {
  const [year, month, day] = expr.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
