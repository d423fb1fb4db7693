import { describe, expect, it } from 'vitest';
import { parseTimeExpr } from '../../storage/time-expr.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

describe('parseTimeExpr', () => {
  it.each([
    ['now', NOW],
    ['-30s', NOW - 30_000],
    ['-15m', NOW - 15 * 60_000],
    ['+5m', NOW + 5 * 60_000],
    ['-1h', NOW - 3_600_000],
    ['-7d', NOW - 7 * 86_400_000],
    ['1700000000000', 1_700_000_000_000],
    ['0', 0],
    ['2025-01-02', Date.UTC(2025, 0, 2)],
    ['2025-01-02T03:04:05Z', Date.UTC(2025, 0, 2, 3, 4, 5)],
    ['2025-01-02T03:04:05.678Z', Date.UTC(2025, 0, 2, 3, 4, 5, 678)],
    ['2025-01-02T03:04:05+02:00', Date.UTC(2025, 0, 2, 1, 4, 5)],
    ['  -1h ', NOW - 3_600_000],
  ])('%s', (text, expected) => {
    expect(parseTimeExpr(text, NOW)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '15m',
    '-15',
    '-1.5h',
    '-1w',
    '--1h',
    'NOW',
    '2025-02-30',
    '2025-13-01',
    '2025-1-2',
    'March 7',
    '1e12',
    '-',
    '99999999999999999999',
  ])('rejects %j with GW_ERR_CLI_USAGE', (text) => {
    expect(() => parseTimeExpr(text, NOW)).toThrow(expect.objectContaining({ code: 'GW_ERR_CLI_USAGE' }));
  });
});
