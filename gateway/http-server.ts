import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { StorageHealth } from '../storage/port.js';
import { wrapError } from './errors.js';
import type { EventLoopWindow } from './event-loop-monitor.js';
import type { BoundAddress } from './listen.js';

export interface HttpDeps {
  registry: Registry;
  storage: () => StorageHealth;
  eventLoop: () => EventLoopWindow;
  connectedClients: () => number;
  /** false before the MQTT listener is up and while draining */
  ready: () => boolean;
}

export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });

  app.get('/healthz', async (_req, reply) => {
    const storage = deps.storage();
    const ok = storage.state === 'ok';
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'failing',
      storage,
      eventLoop: deps.eventLoop(),
      connectedClients: deps.connectedClients(),
    });
  });

  app.get('/readyz', async (_req, reply) => {
    const ready = deps.ready() && deps.storage().state === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });

  return app;
}

export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<BoundAddress> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw wrapError('GW_ERR_PORT_IN_USE', err, 'HTTP', port, host);
    throw wrapError('GW_ERR_LISTEN', err, 'HTTP', port, `${host} (${code ?? (err as Error).message})`);
  }
  const address = app.server.address();
  return typeof address === 'object' && address !== null
    ? { host: address.address, port: address.port }
    : { host, port };
}
