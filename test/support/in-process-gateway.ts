import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { defaults, type GatewayConfig } from '../../gateway/config.js';
import { type RunningGateway, startGateway } from '../../gateway/gateway.js';
import { tempDir } from '../../simulators/run-cli.js';
import type { StorageReader, StorageWriter } from '../../storage/port.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';

export interface InProcessGateway {
  gateway: RunningGateway;
  writer: StorageWriter;
  db: string;
  reader(): StorageReader;
  close(): Promise<void>;
}

/** The real gateway and SQLite writer thread, in the test's process, on free ports. */
export async function startInProcessGateway(
  overrides: Partial<GatewayConfig> = {},
  logger: Logger = pino({ level: 'silent' }),
): Promise<InProcessGateway> {
  const db = join(tempDir(), 'gateway.db');
  const config: GatewayConfig = {
    ...defaults(),
    mqttPort: 0,
    httpPort: 0,
    db,
    logLevel: 'silent',
    ...overrides,
  };
  const writer = await openSqliteWriter({
    path: config.db,
    synchronous: config.synchronous,
    ...(config.maxDbBytes > 0 ? { maxDbBytes: config.maxDbBytes } : {}),
  });
  const gateway = await startGateway({ config, logger, writer });
  return {
    gateway,
    writer,
    db,
    reader: () => openSqliteReader({ path: db }),
    async close() {
      await gateway.close();
      await writer.close();
    },
  };
}
