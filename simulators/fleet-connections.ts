// How the fleet's devices come and go: links made on first use, the bounded
// ramp-up, reconnects with backoff after a loss, planned dropouts and churn
// storms, and the first device as a probe of the broker.

import { backoffDelay, DEVICE_BACKOFF } from '../core/backoff.js';
import { type AckStats, errorKind } from './ack-stats.js';
import type { DeviceLink, LinkFactory } from './device-link.js';
import type { Device } from './fleet-device.js';
import { unit } from './seeded-hash.js';
import type { SimOptions } from './sim-options.js';
import type { DropoutRecord } from './sim-summary.js';

const LISTED_MAX = 10_000;
const SALT_CHURN = 0xc4;

export interface FleetConnectionsDeps {
  options: Pick<SimOptions, 'devices' | 'ramp' | 'churn' | 'seed' | 'username' | 'password'>;
  devices: readonly Device[];
  linkFactory: LinkFactory;
  /** source addresses to spread devices over (simulators/source-addresses.ts) */
  addresses: readonly string[];
  stats: AckStats;
  now: () => number;
  random: () => number;
  /** the run's phase, read at each event */
  phase: Readonly<{ stopping: boolean; closed: boolean }>;
  /** a device is online: send what it has buffered */
  onUp: (dev: Device) => void;
}

export interface ConnectionFacts {
  dropouts: { count: number; list: DropoutRecord[] };
  churned: number;
  peakConnected: number;
  /** when the last device first connected; null if some never did */
  allConnectedAt: number | null;
}

export interface FleetConnections {
  linkOf(dev: Device): DeviceLink;
  connect(dev: Device): void;
  /** Connects the device and resolves on its CONNACK; rejects if it goes down first. */
  probe(dev: Device): Promise<void>;
  /** Starts the ramp's clock. */
  startRamp(at: number): void;
  /** Opens as many new connections as the ramp allows since the last call. */
  rampUp(at: number): void;
  beginDropout(dev: Device, untilMs: number, at: number): void;
  /** On stop: devices offline with unacked messages come back now, so their client can resend them. */
  recallInFlight(): void;
  churnStorm(storm: number): void;
  facts(): ConnectionFacts;
}

export function createFleetConnections(deps: FleetConnectionsDeps): FleetConnections {
  const { options, devices, stats, now, phase } = deps;
  const c = stats.counters;
  const dropouts: DropoutRecord[] = [];
  let dropoutCount = 0;
  let churned = 0;
  let peakConnected = 0;
  let allConnectedAt: number | null = null;
  let everConnected = 0;
  let nextToRamp = 1;
  let rampPending = 0;
  let rampAllowance = 1;
  let lastTickAt = 0;
  let probing: { resolve(): void; reject(err: unknown): void } | null = null;

  const fill = (text: string | undefined, id: string) => text?.replaceAll('{device}', id);

  function linkOf(dev: Device): DeviceLink {
    if (dev.link) return dev.link;
    const username = fill(options.username, dev.id);
    const password = fill(options.password, dev.id);
    const localAddress =
      deps.addresses.length > 0 ? deps.addresses[dev.index % deps.addresses.length] : undefined;
    dev.link = deps.linkFactory(
      {
        deviceId: dev.id,
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        ...(localAddress === undefined ? {} : { localAddress }),
      },
      { up: () => onUp(dev), down: () => onDown(dev), error: (err) => onError(dev, err) },
    );
    return dev.link;
  }

  function connect(dev: Device): void {
    dev.timer = null;
    if (phase.closed || (phase.stopping && dev.inFlight === 0)) return;
    dev.state = 'connecting';
    linkOf(dev).open();
  }

  function endRamping(dev: Device): void {
    if (!dev.ramping) return;
    dev.ramping = false;
    rampPending--;
  }

  function onUp(dev: Device): void {
    endRamping(dev);
    dev.up = true;
    dev.state = 'online';
    dev.attempts = 0;
    c.connects++;
    if (dev.everUp) c.reconnects++;
    c.connected++;
    if (c.connected > peakConnected) peakConnected = c.connected;
    if (!dev.everUp && ++everConnected === options.devices) allConnectedAt = now();
    dev.everUp = true;
    probing?.resolve();
    deps.onUp(dev);
  }

  function onDown(dev: Device): void {
    endRamping(dev);
    if (dev.up) {
      dev.up = false;
      c.connected--;
      c.disconnects++;
    }
    if (phase.closed || dev.state === 'dropout' || dev.state === 'backoff') return;
    if (!dev.everUp && probing) {
      probing.reject(dev.lastError ?? new Error('connection closed before CONNACK'));
      return;
    }
    dev.state = 'backoff';
    dev.timer = setTimeout(
      () => connect(dev),
      backoffDelay(dev.attempts++, { ...DEVICE_BACKOFF, random: deps.random }),
    );
  }

  function onError(dev: Device, err: unknown): void {
    dev.lastError = err;
    stats.countError(errorKind(err));
  }

  return {
    linkOf,
    connect,
    async probe(dev) {
      try {
        await new Promise<void>((resolve, reject) => {
          probing = { resolve, reject };
          connect(dev);
        });
      } finally {
        probing = null;
      }
    },
    startRamp(at) {
      lastTickAt = at;
    },
    rampUp(at) {
      rampAllowance = Math.min(options.ramp, rampAllowance + (options.ramp * (at - lastTickAt)) / 1000);
      lastTickAt = at;
      // Bound outstanding CONNECTs too, so a slow broker is not stampeded.
      const maxPending = Math.max(10, options.ramp);
      while (nextToRamp < devices.length && rampAllowance >= 1 && rampPending < maxPending) {
        const dev = devices[nextToRamp++] as Device;
        rampAllowance--;
        dev.ramping = true;
        rampPending++;
        connect(dev);
      }
    },
    beginDropout(dev, untilMs, at) {
      dev.state = 'dropout';
      dropoutCount++;
      if (dropouts.length < LISTED_MAX) dropouts.push({ deviceId: dev.id, fromMs: at, untilMs });
      linkOf(dev).drop();
      dev.timer = setTimeout(() => connect(dev), Math.max(0, untilMs - now()));
    },
    recallInFlight() {
      for (const dev of devices) {
        if (dev.inFlight > 0 && (dev.state === 'dropout' || dev.state === 'backoff')) {
          clearTimeout(dev.timer ?? undefined);
          connect(dev);
        }
      }
    },
    churnStorm(storm) {
      for (const dev of devices) {
        if (dev.state !== 'online') continue;
        // Seeded so a rerun drops the same devices in the same storms.
        if (unit(options.seed, dev.index, storm, SALT_CHURN) >= options.churn) continue;
        churned++;
        linkOf(dev).drop();
      }
    },
    facts: () => ({
      dropouts: { count: dropoutCount, list: dropouts },
      churned,
      peakConnected,
      allConnectedAt,
    }),
  };
}
