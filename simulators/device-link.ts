// The simulator's view of one device connection. mqtt.js sits behind it so the
// fleet logic can be driven by a fake in tests and stays protocol-agnostic.

export interface LinkEvents {
  /** CONNACK accepted */
  up(): void;
  /** the connection is gone, whatever the reason; also after a failed attempt */
  down(): void;
  error(err: unknown): void;
}

export interface DeviceLink {
  /** First connect, or a reconnect that resends whatever QoS ≥ 1 message is still unacked. */
  open(): void;
  /** Loses the network abruptly (dropouts, churn): no DISCONNECT, the broker sees the socket close. */
  drop(): void;
  /** done(err) fires on PUBACK/PUBCOMP (QoS ≥ 1) or once written (QoS 0). */
  publish(payload: string, qos: 0 | 1 | 2, done: (err?: Error) => void): void;
  /** For good, without waiting for acks. */
  close(): Promise<void>;
}

export interface LinkSpec {
  deviceId: string;
  username?: string;
  password?: string;
  localAddress?: string;
}

export type LinkFactory = (spec: LinkSpec, events: LinkEvents) => DeviceLink;
