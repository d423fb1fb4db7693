// The TLS (8883) and WebSocket (8083, /mqtt) listeners, each with mqtt.js and
// with a third-party client: mosquitto_pub for TLS, Python paho (Debian's
// python3-paho-mqtt) for WebSocket, as Debian's mosquitto_pub has no
// WebSocket support. Certificates are made with openssl at test time.

import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../simulators/run-cli.js';
import { connackCode, connectClient, type SecureGateway, startSecureGateway } from './secure-gateway.js';

const run = promisify(execFile);

interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

function makePki(): Pki {
  const dir = tempDir('gw-pki-');
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    ssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
    );
  const leaf = (name: string, cn: string, signer: string, ext?: string) => {
    ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${signer}.crt`),
      '-CAkey',
      f(`${signer}.key`),
      '-CAcreateserial',
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      ...(ext === undefined ? [] : ['-extfile', ext]),
    );
  };
  ca('test-ca');
  ca('rogue-ca');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${f('san.ext')}`]);
  leaf('server', 'localhost', 'test-ca', f('san.ext'));
  leaf('client', 'cert-dev', 'test-ca');
  leaf('rogue', 'cert-dev', 'rogue-ca');
  return {
    dir,
    ca: f('test-ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    rogueCert: f('rogue.crt'),
    rogueKey: f('rogue.key'),
  };
}

const PAHO_WS = `
import json, sys, threading
import paho.mqtt.client as mqtt
port, device, token, topic, payload = sys.argv[1:6]
connected = threading.Event()
result = {}
def on_connect(client, userdata, flags, rc):
    result['rc'] = rc
    connected.set()
c = mqtt.Client(client_id=device, protocol=mqtt.MQTTv311, transport='websockets')
c.ws_set_options(path='/mqtt')
c.username_pw_set(device, token)
c.on_connect = on_connect
c.connect('127.0.0.1', int(port), keepalive=30)
c.loop_start()
connected.wait(10)
if result.get('rc') == 0:
    info = c.publish(topic, payload, qos=1)
    info.wait_for_publish(10)
    result['published'] = info.is_published()
c.disconnect()
c.loop_stop()
print(json.dumps(result))
`;

describe('TLS and WebSocket listeners', () => {
  let pki: Pki;
  let gw: SecureGateway & { tokens: Map<string, string> };
  const readings = async (deviceId: string) => {
    const reader = gw.reader();
    try {
      return await reader.countReadings({ deviceId });
    } finally {
      await reader.close();
    }
  };

  beforeAll(async () => {
    pki = makePki();
    gw = await startSecureGateway(
      {
        tlsPort: 0,
        tlsCert: pki.serverCert,
        tlsKey: pki.serverKey,
        tlsCa: pki.ca,
        ws: true,
        wsPort: 0,
      },
      [{ id: 'tls-dev' }, { id: 'cert-dev' }, { id: 'ws-dev' }, { id: 'mosq-dev' }, { id: 'paho-dev' }],
    );
  });
  afterAll(() => gw.close());

  const creds = (id: string) => ({ clientId: id, username: id, password: gw.tokens.get(id)! });

  it('TLS with mqtt.js: a token authenticates; a bad one gets CONNACK 4', async () => {
    const url = `mqtts://127.0.0.1:${gw.gateway.tls!.port}`;
    const tls = { ca: readFileSync(pki.ca), servername: 'localhost' };
    const client = await connectClient(url, { ...tls, ...creds('tls-dev') });
    await client.publishAsync('devices/tls-dev/telemetry', '{"temperature": 20}', { qos: 1 });
    await client.endAsync();
    expect(await readings('tls-dev')).toBe(1);
    expect(await connackCode(url, { ...tls, ...creds('tls-dev'), password: 'nope' })).toBe(4);
  });

  it('TLS with mqtt.js: a client certificate from the CA authenticates its CN; one from another CA does not', async () => {
    const url = `mqtts://127.0.0.1:${gw.gateway.tls!.port}`;
    const base = { ca: readFileSync(pki.ca), servername: 'localhost', clientId: 'cert-dev' };
    const client = await connectClient(url, {
      ...base,
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    await client.publishAsync('devices/cert-dev/telemetry', '{"temperature": 21}', { qos: 1 });
    await client.endAsync();
    expect(await readings('cert-dev')).toBe(1);
    // The certificate names cert-dev; it cannot be used as another device.
    expect(
      await connackCode(url, {
        ...base,
        clientId: 'tls-dev',
        username: 'tls-dev',
        cert: readFileSync(pki.clientCert),
        key: readFileSync(pki.clientKey),
      }),
    ).toBe(5);
    // Loopback gateway: without credentials the rogue-signed client is merely anonymous,
    // and anonymous clients cannot use a registered device's ClientId.
    expect(
      await connackCode(url, { ...base, cert: readFileSync(pki.rogueCert), key: readFileSync(pki.rogueKey) }),
    ).toBe(2);
  });

  it('TLS with mosquitto_pub: --cafile with a token, and --cert/--key with a client certificate', async () => {
    const port = String(gw.gateway.tls!.port);
    const common = ['-h', '127.0.0.1', '-p', port, '--cafile', pki.ca, '-q', '1'];
    await run('mosquitto_pub', [
      ...common,
      '-i',
      'mosq-dev',
      '-u',
      'mosq-dev',
      '-P',
      gw.tokens.get('mosq-dev')!,
      '-t',
      'devices/mosq-dev/telemetry',
      '-m',
      '{"temperature": 22}',
    ]);
    expect(await readings('mosq-dev')).toBe(1);
    await run('mosquitto_pub', [
      ...common,
      '--cert',
      pki.clientCert,
      '--key',
      pki.clientKey,
      '-i',
      'cert-dev-mosq',
      '-t',
      'devices/cert-dev/telemetry/humidity',
      '-m',
      '45',
    ]);
    expect(await readings('cert-dev')).toBe(2);
    const refused = await run('mosquitto_pub', [
      ...common,
      '-i',
      'mosq-dev',
      '-u',
      'mosq-dev',
      '-P',
      'wrong',
      '-t',
      'devices/mosq-dev/telemetry',
      '-m',
      '{"temperature": 23}',
    ]).then(
      () => 'published',
      (err: { code?: number; stderr?: string }) => err.stderr ?? String(err.code),
    );
    expect(refused).not.toBe('published');
    expect(await readings('mosq-dev')).toBe(1);
  });

  it('TLS refuses a plain-MQTT client on the TLS port without disturbing others', async () => {
    expect(await connackCode(`mqtt://127.0.0.1:${gw.gateway.tls!.port}`, { connectTimeout: 2000 })).not.toBe(
      0,
    );
    expect(await connackCode(`mqtt://127.0.0.1:${gw.gateway.mqtt.port}`, { clientId: 'still-fine' })).toBe(0);
  });

  it('WebSocket with mqtt.js on /mqtt: token auth, ACL and CONNACK codes as on TCP', async () => {
    const url = `ws://127.0.0.1:${gw.gateway.ws!.port}/mqtt`;
    const client = await connectClient(url, creds('ws-dev'));
    await client.publishAsync('devices/ws-dev/telemetry', '{"temperature": 24}', { qos: 1 });
    await client.endAsync();
    expect(await readings('ws-dev')).toBe(1);
    expect(await connackCode(url, { ...creds('ws-dev'), password: 'nope' })).toBe(4);
    expect(await connackCode(url, { ...creds('ws-dev'), clientId: 'tls-dev' })).toBe(2);
    const plain = await fetch(`http://127.0.0.1:${gw.gateway.ws!.port}/mqtt`);
    expect(plain.status).toBe(426);
  });

  it('WebSocket with Python paho (websockets transport)', async () => {
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      PAHO_WS,
      String(gw.gateway.ws!.port),
      'paho-dev',
      gw.tokens.get('paho-dev')!,
      'devices/paho-dev/telemetry',
      '{"temperature": 25}',
    ]);
    expect(JSON.parse(stdout)).toEqual({ rc: 0, published: true });
    expect(await readings('paho-dev')).toBe(1);
    const refused = await run('/usr/bin/python3', [
      '-c',
      PAHO_WS,
      String(gw.gateway.ws!.port),
      'paho-dev',
      'wrong-token',
      'devices/paho-dev/telemetry',
      '{"temperature": 26}',
    ]);
    expect(JSON.parse(refused.stdout).rc).toBe(4);
    expect(await readings('paho-dev')).toBe(1);
  });
});
