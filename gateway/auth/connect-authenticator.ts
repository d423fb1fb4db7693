// The CONNECT-time hooks: who is this (token, client certificate or
// anonymous), may it use this ClientId, may its will go where it says.
// Everything is decided here, before aedes stores the will or closes another
// session with the same ClientId (both happen after authenticate in
// lib/handlers/connect.js), and refused with a CONNACK return code.

import { TLSSocket } from 'node:tls';
import type { AedesOptions, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import { type ErrorCode, GatewayError } from '../../core/errors.js';
import { canPublish, clientIdAllowed, type Identity } from '../../devices/acl.js';
import { type Bridge, parseBridge } from '../../devices/bridge.js';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import type { AnonymousPolicy } from '../../devices/policy.js';
import { createBoundedConcurrency } from './bounded-concurrency.js';
import type { ClientIdentities } from './client-identities.js';
import { clientIdProblem, willProblem as willProblemOf } from './connect-names.js';

type PreConnect = NonNullable<AedesOptions['preConnect']>;
type Authenticate = NonNullable<AedesOptions['authenticate']>;

/** CONNACK return codes [MQTT-3.2.2.3]. */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * Tokens are checked by HMAC under the pepper, in microseconds, on the event
 * loop. Only rows hashed with scrypt by earlier versions take the slow path
 * (once each: they are rehashed after it): two at a time leaves the event
 * loop a core on a 2-core machine, with a bounded queue behind them, past
 * which a CONNECT is refused with "server unavailable" (a client with a
 * known legacy id and a wrong token can ask for as many as it likes; each
 * costs ~16 MiB and tens of ms).
 */
const VERIFY_CONCURRENCY = 2;
const VERIFY_MAX_QUEUED = 1000;

export interface ConnectAuthDeps {
  registry: DeviceRegistry;
  policy: AnonymousPolicy;
  identities: ClientIdentities;
  logger: Logger;
  onRefused: (code: ErrorCode) => void;
}

export interface ConnectAuthHooks {
  preConnect: PreConnect;
  authenticate: Authenticate;
}

type Refusal = { code: ErrorCode; args: unknown[]; returnCode: number };

export function createConnectAuth(deps: ConnectAuthDeps): ConnectAuthHooks {
  const { registry, policy, identities, logger, onRefused } = deps;
  // authenticate() is not given the CONNECT packet; preConnect is, just before.
  const connects = new WeakMap<Client, ConnectPacket>();
  const verifier = createBoundedConcurrency(VERIFY_CONCURRENCY, VERIFY_MAX_QUEUED);

  const refuse = (code: ErrorCode, returnCode: number, ...args: unknown[]): Refusal => ({
    code,
    args,
    returnCode,
  });

  async function tokenIdentity(username: string, password: Buffer | undefined): Promise<Identity | Refusal> {
    const bad = refuse('GW_ERR_AUTH_FAILED', BAD_USERNAME_OR_PASSWORD);
    const row = registry.lookup(username);
    if (row === undefined || row.revokedAt !== null || password === undefined) return bad;
    const identity: Identity = {
      kind: 'device',
      deviceId: row.deviceId,
      version: row.version,
      allowedMetrics: row.allowedMetrics === null ? null : new Set(row.allowedMetrics),
      via: 'token',
      ...bridgeOf(row.bridge),
    };
    const verdict = registry.tokens.verify(password, row.token);
    if (verdict !== undefined) return verdict ? identity : bad;
    // A legacy scrypt row: bounded, then rehashed under the pepper once it proved good.
    const verification = verifier.run(() => registry.tokens.verifySlow(password, row.token));
    if (verification === undefined) return refuse('GW_ERR_AUTH_FAILED', SERVER_UNAVAILABLE);
    if (!(await verification)) return bad;
    registry.upgrade(row, password);
    return identity;
  }

  function certificateIdentity(client: Client, username: string | undefined): Identity | Refusal | undefined {
    const conn = client.conn;
    if (!(conn instanceof TLSSocket) || !conn.authorized) return undefined;
    const cn = conn.getPeerCertificate().subject?.CN;
    const deviceId = Array.isArray(cn) ? undefined : cn;
    if (deviceId === undefined) return undefined;
    // The certificate is the credential; a username, if sent, must agree with it.
    if (username !== undefined && username !== deviceId) return refuse('GW_ERR_AUTH_FAILED', NOT_AUTHORIZED);
    const row = registry.lookup(deviceId);
    if (row === undefined || row.revokedAt !== null) return refuse('GW_ERR_AUTH_FAILED', NOT_AUTHORIZED);
    return {
      kind: 'device',
      deviceId,
      version: row.version,
      allowedMetrics: row.allowedMetrics === null ? null : new Set(row.allowedMetrics),
      via: 'certificate',
      ...bridgeOf(row.bridge),
    };
  }

  async function decide(
    client: Client,
    packet: ConnectPacket | undefined,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity | Refusal> {
    // Fail closed: without the packet (another preConnect replaced ours) the
    // ClientId and will checks could not run.
    if (packet === undefined) return refuse('GW_ERR_AUTH_FAILED', SERVER_UNAVAILABLE);
    const clientId = packet.clientId;
    // A session must be named to be resumed [MQTT-3.1.3-8]; aedes accepts it (aedes #1095).
    if (clientId === '' && packet.clean === false)
      return refuse('GW_ERR_CLIENT_ID_REJECTED', IDENTIFIER_REJECTED, '""', 'a persistent session');
    const badId = clientIdProblem(clientId);
    if (badId !== undefined)
      return refuse('GW_ERR_CLIENT_ID_REJECTED', IDENTIFIER_REJECTED, clientId.slice(0, 64), badId);
    const willProblem = packet.will == null ? undefined : willProblemOf(packet.will);
    if (willProblem !== undefined) return refuse('GW_ERR_WILL_INVALID', NOT_AUTHORIZED, willProblem);

    let identity = certificateIdentity(client, username);
    if (identity === undefined) {
      if (username !== undefined) identity = await tokenIdentity(username, password);
      else if (policy.allowed) identity = { kind: 'anonymous' };
      else identity = refuse('GW_ERR_AUTH_REQUIRED', NOT_AUTHORIZED);
    }
    if ('returnCode' in identity) return identity;
    const who = identity.kind === 'device' ? identity.deviceId : 'an anonymous client';

    // An empty ClientId gets a fresh unique one from aedes: it can take over nothing.
    if (clientId !== '' && !clientIdAllowed(identity, clientId, registry.isRegistered))
      return refuse('GW_ERR_CLIENT_ID_REJECTED', IDENTIFIER_REJECTED, clientId, who);
    // The will obeys the same ACL as a publish; refusing it here keeps it out of persistence.
    const will = packet.will;
    if (will != null && !canPublish(identity, will.topic, registry.isRegistered))
      return refuse('GW_ERR_ACL_WILL', NOT_AUTHORIZED, will.topic, who);
    return identity;
  }

  return {
    preConnect(client, packet, callback) {
      connects.set(client, packet);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      const packet = connects.get(client);
      connects.delete(client);
      decide(client, packet, username, password).then(
        (outcome) => {
          if ('returnCode' in outcome) {
            // Never the password: only who asked and why it was refused.
            logger.info(
              { clientId: packet?.clientId, username, code: outcome.code, returnCode: outcome.returnCode },
              'connect refused',
            );
            onRefused(outcome.code);
            const err = Object.assign(new GatewayError(outcome.code, outcome.args), {
              returnCode: outcome.returnCode,
            });
            callback(err, false);
            return;
          }
          // The socket may have gone while scrypt ran; its 'close' has fired
          // already, so remembering it now would pin the client forever.
          if (client.conn.destroyed) {
            callback(
              Object.assign(new GatewayError('GW_ERR_CONNECTION_CLOSED'), { returnCode: SERVER_UNAVAILABLE }),
              false,
            );
            return;
          }
          identities.set(client, outcome);
          callback(null, true);
        },
        (err: unknown) => {
          logger.error({ clientId: packet?.clientId, err }, 'authentication failed with an error');
          callback(
            Object.assign(new GatewayError('GW_ERR_AUTH_FAILED'), { returnCode: SERVER_UNAVAILABLE }),
            false,
          );
        },
      );
    },
  };
}

/** A stored bridge that no longer parses gives no bridge rights, not device ones: it can publish nothing. */
function bridgeOf(stored: string | null): { bridge?: Bridge } {
  if (stored === null) return {};
  const bridge = parseBridge(stored);
  return 'problem' in bridge ? { bridge: { adapter: 'sparkplug', group: '' } } : { bridge };
}
