import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { BoundAddress } from '../listen.js';

/** Hands one connection to the broker (aedes' `broker.handle`, possibly wrapped by limits). */
export type HandleConnection = (stream: Duplex, req?: IncomingMessage) => void;

/** A bound MQTT listener other than the plain TCP one. */
export interface MqttListener {
  readonly name: string;
  readonly address: BoundAddress;
  /** Stops accepting; resolves once the server is closed. */
  close(): Promise<void>;
  /** Ends connections still open (those in the handshake included). */
  destroyConnections(): void;
}
