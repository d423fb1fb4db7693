import type { Server } from 'node:net';
import { GatewayError, wrapError } from '../core/errors.js';

export interface BoundAddress {
  host: string;
  port: number;
}

/** listen() as a promise whose failure names the cause in one line. */
export function listen(server: Server, what: string, host: string, port: number): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(wrapError('GW_ERR_PORT_IN_USE', err, what, port, host));
      else reject(wrapError('GW_ERR_LISTEN', err, what, port, `${host} (${err.code ?? err.message})`));
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new GatewayError('GW_ERR_LISTEN', [what, port, host]));
        return;
      }
      resolve({ host: address.address, port: address.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
