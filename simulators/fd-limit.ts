// Every simulated device holds a socket, and so a file descriptor. Node cannot
// call setrlimit, so when the soft limit is too low the only honest thing is to
// stop before connecting anything and say exactly what to run.

import { readFileSync } from 'node:fs';
import { gatewayError } from '../core/errors.js';

/** Descriptors beyond the sockets: stdio, the event loop, log files, a database. */
const HEADROOM = 128;

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" row of /proc/<pid>/limits; null when absent. */
export function parseOpenFileLimit(limitsText: string): OpenFileLimit | null {
  const row = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!row) return null;
  const value = (s: string | undefined) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  const soft = value(row[1]);
  const hard = value(row[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
}

export function requiredOpenFiles(devices: number): number {
  return devices + HEADROOM;
}

/** Throws GW_ERR_SIM_FD_LIMIT with the `ulimit -n` value to run; a null limit (not Linux) passes. */
export function checkOpenFileLimit(devices: number, limit: OpenFileLimit | null): void {
  if (!limit) return;
  const needed = requiredOpenFiles(devices);
  if (limit.soft >= needed) return;
  // Round up to a friendly number; the hard limit caps what `ulimit -n` may set without root.
  const suggested = Math.ceil(needed / 1024) * 1024;
  throw gatewayError('GW_ERR_SIM_FD_LIMIT', limit.soft, devices, suggested);
}

export function readOwnOpenFileLimit(): OpenFileLimit | null {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}
