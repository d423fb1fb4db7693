import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.js';
import { ROOT } from '../../simulators/run-cli.js';

const files = (content: string) => () => content;

describe('loadConfig', () => {
  it('uses defaults when nothing is given', () => {
    const { config } = loadConfig({ argv: [], env: {} });
    expect(config.mqttPort).toBe(1883);
    expect(config.host).toBe('127.0.0.1');
    expect(config.db).toBe('data/gateway.db');
    expect(config.synchronous).toBe('NORMAL');
  });

  it('layers file < env < flags', () => {
    const readFile = files('{"mqttPort": 1000, "httpPort": 2000, "db": "file.db"}');
    const { config, configFile } = loadConfig({
      argv: ['--config', 'gw.json', '--mqtt-port', '3000'],
      env: { GATEWAY_MQTT_PORT: '4000', GATEWAY_HTTP_PORT: '5000' },
      readFile,
    });
    expect(configFile).toBe('gw.json');
    expect(config.mqttPort).toBe(3000);
    expect(config.httpPort).toBe(5000);
    expect(config.db).toBe('file.db');
  });

  it.each([
    [['--mqtt-port', '70000'], {}],
    [['--mqtt-port', '12x'], {}],
    [['--synchronous', 'OFF'], {}],
    [['--batch-max-readings', '0'], {}],
    [['--query-cpu-percent', '0'], {}],
    [['--query-cpu-percent', '101'], {}],
    [['--no-such-flag'], {}],
    [[], { GATEWAY_HTTP_PORT: '-1' }],
  ])('refuses %j %j with GW_ERR_CONFIG_INVALID', (argv, env) => {
    expect(() => loadConfig({ argv, env })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
    );
  });

  it('refuses unknown keys and unreadable files', () => {
    expect(() => loadConfig({ argv: ['--config', 'x'], env: {}, readFile: files('{"mqtPort": 1}') })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
    );
    expect(() => loadConfig({ argv: ['--config', 'x'], env: {}, readFile: files('{') })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_FILE' }),
    );
    expect(() => loadConfig({ argv: ['--config', join(ROOT, 'no-such.json')], env: {} })).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_FILE' }),
    );
  });
});
