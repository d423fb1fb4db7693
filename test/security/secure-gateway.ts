// The real gateway in-process with a device registry in its database, plus
// small mqtt.js and raw-socket helpers for the security tests.

import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { type Logger, pino } from 'pino';
import type { Bridge } from '../../devices/bridge.js';
import { type DeviceAdmin, openDeviceAdmin } from '../../devices/device-admin.js';
import {
  type DeviceRegistry,
  type DeviceRegistryOptions,
  openDeviceRegistry,
} from '../../devices/device-registry.js';
import type { ScryptParams } from '../../devices/tokens.js';
import { defaults, type GatewayConfig } from '../../gateway/config.js';
import { type RunningGateway, startGateway } from '../../gateway/gateway.js';
import { tempDir } from '../../simulators/run-cli.js';
import type { StorageReader } from '../../storage/port.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';

/** Cheap scrypt, for tests of rows hashed the way earlier versions did (legacy rows, rehashed on connect). */
export const TEST_KDF: ScryptParams = { alg: 'scrypt', N: 1024, r: 8, p: 1, keylen: 32 };

export interface SecureGateway {
  gateway: RunningGateway;
  admin: DeviceAdmin;
  registry: DeviceRegistry;
  db: string;
  /** every log line, parsed */
  logs: Array<Record<string, unknown>>;
  /** the raw log text, to prove no secret is in it */
  logText(): string;
  reader(): StorageReader;
  close(): Promise<void>;
}

export async function startSecureGateway(
  overrides: Partial<GatewayConfig> = {},
  devices: ReadonlyArray<{ id: string; metrics?: string[]; bridge?: Bridge }> = [],
  registryOptions: Omit<DeviceRegistryOptions, 'path'> = {},
): Promise<SecureGateway & { tokens: Map<string, string> }> {
  const db = join(tempDir('gw-sec-'), 'gateway.db');
  const config: GatewayConfig = {
    ...defaults(),
    mqttPort: 0,
    httpPort: 0,
    db,
    logLevel: 'debug',
    authRecheckMs: 50,
    ...overrides,
  };
  const writer = await openSqliteWriter({ path: db, synchronous: config.synchronous });
  const admin = openDeviceAdmin({ path: db });
  const tokens = new Map<string, string>();
  for (const d of devices) {
    tokens.set(
      d.id,
      await admin.add(d.id, {
        ...(d.metrics === undefined ? {} : { metrics: d.metrics }),
        ...(d.bridge === undefined ? {} : { bridge: d.bridge }),
      }),
    );
  }
  const registry = openDeviceRegistry({ path: db, ...registryOptions });
  const raw: string[] = [];
  const logger: Logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        raw.push(line);
      },
    },
  );
  const gateway = await startGateway({ config, logger, writer, registry });
  return {
    gateway,
    admin,
    registry,
    db,
    tokens,
    get logs() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => raw.join(''),
    reader: () => openSqliteReader({ path: db }),
    async close() {
      await gateway.close();
      registry.close();
      admin.close();
      await writer.close();
    },
  };
}

/** Connects with mqtt.js; rejects with the CONNACK return code as `code`. Never reconnects. */
export function connectClient(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts }, false);
}

/** The CONNACK return code of a refused connection (or 0 when it was accepted, then closed). */
export async function connackCode(url: string, opts: IClientOptions = {}): Promise<number> {
  try {
    const client = await connectClient(url, opts);
    await client.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** One CONNECT over a raw socket, for packets mqtt.js refuses to send; resolves with the CONNACK code. */
export async function rawConnack(
  port: number,
  packet: Partial<mqttPacket.IConnectPacket> | Buffer,
): Promise<number> {
  const socket = netConnect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const connack = new Promise<number>((resolve, reject) => {
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') resolve(p.returnCode ?? -1);
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.once('close', () => reject(new Error('closed without CONNACK')));
  });
  connack.catch(() => {}); // awaited below; this only keeps a late close from being "unhandled"
  socket.write(
    Buffer.isBuffer(packet)
      ? packet
      : mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: '',
          keepalive: 30,
          ...packet,
        } as mqttPacket.IConnectPacket),
  );
  try {
    return await connack;
  } finally {
    socket.destroy();
  }
}
