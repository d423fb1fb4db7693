import { GatewayError } from '../core/errors.js';
import type { RetentionTier } from './port.js';

/** Milliseconds to keep each tier; null keeps it forever. */
export type RetentionPolicy = Record<RetentionTier, number | null>;

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * `7d`, `36h`, `90m`, `2w`, a bare number of milliseconds, or `forever`
 * (also `0`). Throws GW_ERR_CONFIG_INVALID naming the setting.
 */
export function parseRetention(setting: string, text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'forever' || trimmed === '0') return null;
  const match = /^(\d+)(ms|s|m|h|d|w)?$/.exec(trimmed);
  if (match === null) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', [
      `${setting}: must be a duration such as 7d, 36h or 90m, or "forever", got "${text}"`,
    ]);
  }
  return Number(match[1]) * UNITS[match[2] ?? 'ms']!;
}

export function retentionPolicy(settings: {
  retentionRaw: string;
  retention1m: string;
  retention1h: string;
}): RetentionPolicy {
  return {
    raw: parseRetention('retentionRaw', settings.retentionRaw),
    '1m': parseRetention('retention1m', settings.retention1m),
    '1h': parseRetention('retention1h', settings.retention1h),
  };
}
