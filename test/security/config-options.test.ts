import { describe, expect, it } from 'vitest';
import { helpText, loadConfig } from '../../gateway/config.js';

describe('security settings', () => {
  it('default to a loopback-only, TLS-off, WebSocket-off gateway', () => {
    const { config } = loadConfig({ argv: [], env: {} });
    expect(config).toMatchObject({
      allowAnonymous: false,
      tlsPort: 8883,
      tlsCert: '',
      tlsKey: '',
      tlsCa: '',
      ws: false,
      wsPort: 8083,
      apiToken: '',
      metricsHost: '',
    });
  });

  it('take booleans as bare flags, from the environment and from the file', () => {
    expect(loadConfig({ argv: ['--allow-anonymous', '--ws'], env: {} }).config).toMatchObject({
      allowAnonymous: true,
      ws: true,
    });
    expect(
      loadConfig({ argv: [], env: { GATEWAY_ALLOW_ANONYMOUS: 'true', GATEWAY_WS: '0' } }).config,
    ).toMatchObject({ allowAnonymous: true, ws: false });
    const readFile = () => '{"allowAnonymous": true, "apiToken": "t0k"}';
    expect(loadConfig({ argv: ['--config', 'f.json'], env: {}, readFile }).config).toMatchObject({
      allowAnonymous: true,
      apiToken: 't0k',
    });
    expect(loadConfig({ argv: [], env: { GATEWAY_API_TOKEN: 'from-env' } }).config.apiToken).toBe('from-env');
  });

  it.each([
    [[], { GATEWAY_ALLOW_ANONYMOUS: 'yes please' }],
    [['--allow-anonymous=maybe'], {}],
    [['--ws-port', '70000'], {}],
    [['--auth-recheck-ms', '1'], {}],
  ])('refuse %j %j with GW_ERR_CONFIG_INVALID', (argv, env) => {
    expect(() => loadConfig({ argv, env })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
    );
  });

  it('show booleans without a value in --help', () => {
    expect(helpText()).toMatch(/--allow-anonymous {2}GATEWAY_ALLOW_ANONYMOUS/);
  });
});
