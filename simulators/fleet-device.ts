// The state the simulator keeps per device: small, since there are thousands.

import type { DeviceLink } from './device-link.js';
import type { Reading } from './reading-sampler.js';
import { clockSkewMs } from './sensor-model.js';
import { deviceId, type SimOptions } from './sim-options.js';

/** idle: not ramped up yet; dropout: offline on purpose; backoff: waiting to reconnect after a loss */
export type DeviceState = 'idle' | 'connecting' | 'online' | 'dropout' | 'backoff' | 'closed';

export interface Device {
  index: number;
  id: string;
  skewMs: number;
  /** last ts sent, so that no two readings of a device share a ms */
  lastTs: number;
  state: DeviceState;
  /** CONNACK received and the connection not lost since */
  up: boolean;
  /** has connected at least once: only then does it sample */
  everUp: boolean;
  /** its first CONNECT is outstanding and counts against the ramp */
  ramping: boolean;
  /** failed reconnects in a row, for backoff */
  attempts: number;
  inFlight: number;
  /** readings waiting for the device to be online with room */
  buffer: Reading[];
  link: DeviceLink | null;
  timer: NodeJS.Timeout | null;
  lastError: unknown;
}

export function createFleetDevices(options: Pick<SimOptions, 'devices' | 'idPrefix' | 'seed'>): Device[] {
  return Array.from({ length: options.devices }, (_, index) => ({
    index,
    id: deviceId(options.idPrefix, index, options.devices),
    skewMs: clockSkewMs(options.seed, index),
    lastTs: 0,
    state: 'idle',
    up: false,
    everUp: false,
    ramping: false,
    attempts: 0,
    inFlight: 0,
    buffer: [],
    link: null,
    timer: null,
    lastError: undefined,
  }));
}
