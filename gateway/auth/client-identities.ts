// Who each connection authenticated as, fixed at CONNECT, so later hooks
// (publish, subscribe, the will at disconnect) judge the device and not the
// topic it claims. Indexed by device too, so a revoked device's sessions can
// be found and closed.

import type { Client } from 'aedes';
import type { Identity } from '../../devices/acl.js';

export class ClientIdentities {
  readonly #byClient = new WeakMap<Client, Identity>();
  readonly #byDevice = new Map<string, Set<Client>>();

  set(client: Client, identity: Identity): void {
    this.#byClient.set(client, identity);
    if (identity.kind !== 'device') return;
    let clients = this.#byDevice.get(identity.deviceId);
    if (clients === undefined) {
      clients = new Set();
      this.#byDevice.set(identity.deviceId, clients);
    }
    clients.add(client);
    // The stream's close covers every way a session ends, CONNACK refusals included.
    client.conn.once('close', () => this.#forget(client, identity.deviceId));
  }

  get(client: Client): Identity | undefined {
    return this.#byClient.get(client);
  }

  /** Open sessions of a device. */
  clientsOf(deviceId: string): readonly Client[] {
    return [...(this.#byDevice.get(deviceId) ?? [])];
  }

  #forget(client: Client, deviceId: string): void {
    const clients = this.#byDevice.get(deviceId);
    if (clients === undefined) return;
    clients.delete(client);
    if (clients.size === 0) this.#byDevice.delete(deviceId);
  }
}
