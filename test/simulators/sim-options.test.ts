import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { parseDemoArgs } from '../../simulators/demo-options.js';
import { checkOpenFileLimit, parseOpenFileLimit, requiredOpenFiles } from '../../simulators/fd-limit.js';
import { deviceId, parseSimArgs, readCredentials } from '../../simulators/sim-options.js';
import { sourceAddresses } from '../../simulators/simulator.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof GatewayError ? err.code : `not a GatewayError: ${String(err)}`;
  }
  return undefined;
}

describe('sim options', () => {
  it('has sensible defaults', () => {
    const o = parseSimArgs([]);
    expect(o).toMatchObject({
      url: 'mqtt://127.0.0.1:1883',
      host: '127.0.0.1',
      port: 1883,
      devices: 100,
      rate: 1,
      durationS: null,
      qos: 1,
      metrics: ['temperature', 'humidity', 'pressure'],
      batch: 1,
      seed: 1,
      ramp: 500,
      churn: 0,
      graceS: 10,
      idPrefix: 'sim-',
      json: false,
    });
    expect(o?.username).toBeUndefined();
  });

  it('parses every option', () => {
    const o = parseSimArgs(
      [
        ...['--url', 'mqtt://localhost:1999', '--devices', '5000', '--rate', '0.2', '--duration', '60'],
        ...['--qos', '2', '--metrics', 'temperature,co2', '--batch', '10', '--seed', '42', '--ramp', '250'],
        ...[
          '--churn',
          '0.1',
          '--churn-interval',
          '15',
          '--spikes',
          '0',
          '--dropouts',
          '4',
          '--dropout-max',
          '5',
        ],
        ...[
          '--grace',
          '3',
          '--id-prefix',
          'x-',
          '--max-in-flight',
          '8',
          '--keepalive',
          '30',
          '--json',
          '--quiet',
        ],
        ...['--username', 'u-{device}', '--password', 'p'],
      ],
      {},
    );
    expect(o).toMatchObject({
      host: 'localhost',
      port: 1999,
      devices: 5000,
      rate: 0.2,
      durationS: 60,
      qos: 2,
      metrics: ['temperature', 'co2'],
      batch: 10,
      seed: 42,
      ramp: 250,
      churn: 0.1,
      churnIntervalS: 15,
      spikesPerDeviceHour: 0,
      dropoutsPerDeviceHour: 4,
      dropoutMaxS: 5,
      graceS: 3,
      idPrefix: 'x-',
      maxInFlight: 8,
      keepaliveS: 30,
      json: true,
      quiet: true,
      username: 'u-{device}',
      password: 'p',
    });
  });

  it('returns null for --help', () => {
    expect(parseSimArgs(['--help'])).toBeNull();
  });

  it.each([
    [['--devices', '0']],
    [['--devices', '1.5']],
    [['--devices', 'many']],
    [['--rate', '0']],
    [['--rate', '-1']],
    [['--duration', '0']],
    [['--qos', '3']],
    [['--metrics', 'temp erature']],
    [['--metrics', 'a,a']],
    [['--metrics', '']],
    [['--batch', '0']],
    [['--batch', '400']], // × 3 metrics > 1000 values per message
    [['--churn', '1.5']],
    [['--url', 'http://127.0.0.1:1883']],
    [['--url', 'not a url']],
    [['--id-prefix', 'bad/prefix']],
    [['--password', 'p']],
    [['--credentials', 'creds', '--username', 'u']],
    [['--no-such-option']],
    [['--devices']],
    [['positional']],
  ])('refuses %j with GW_ERR_CLI_USAGE', (argv) => {
    expect(codeOf(() => parseSimArgs(argv, { readFile: () => 'u:p' }))).toBe('GW_ERR_CLI_USAGE');
  });

  it('reads a credentials file as JSON or user:password', () => {
    expect(
      parseSimArgs(['--credentials', 'f'], { readFile: () => '{"username":"a","password":"b"}' }),
    ).toMatchObject({
      username: 'a',
      password: 'b',
    });
    expect(parseSimArgs(['--credentials', 'f'], { readFile: () => 'dev:se:cret\n' })).toMatchObject({
      username: 'dev',
      password: 'se:cret',
    });
    expect(codeOf(() => readCredentials('{"username": 1}'))).toBe('GW_ERR_CLI_USAGE');
    expect(codeOf(() => readCredentials('nocolon'))).toBe('GW_ERR_CLI_USAGE');
    const missing = () =>
      parseSimArgs(['--credentials', '/nope'], {
        readFile: () => {
          throw new Error('ENOENT');
        },
      });
    expect(codeOf(missing)).toBe('GW_ERR_CLI_USAGE');
  });

  it('names devices with zero padding', () => {
    expect(deviceId('sim-', 0, 5000)).toBe('sim-00001');
    expect(deviceId('sim-', 99_999, 100_000)).toBe('sim-100000');
    expect(deviceId('sim-', 41, 1_000_000)).toBe('sim-0000042');
  });
});

describe('demo options', () => {
  it('defaults to 2000 devices for 30 s on a free port and data/gateway.db', () => {
    const o = parseDemoArgs([]);
    expect(o).toMatchObject({ db: 'data/gateway.db', mqttPort: 0, exit: false });
    expect(o?.sim).toMatchObject({ devices: 2000, durationS: 30, qos: 1 });
  });

  it('refuses bad values with GW_ERR_CLI_USAGE', () => {
    expect(codeOf(() => parseDemoArgs(['--mqtt-port', '70000']))).toBe('GW_ERR_CLI_USAGE');
    expect(codeOf(() => parseDemoArgs(['--devices', '-3']))).toBe('GW_ERR_CLI_USAGE');
    expect(codeOf(() => parseDemoArgs(['--url', 'mqtt://x']))).toBe('GW_ERR_CLI_USAGE');
  });
});

describe('open-file limit', () => {
  const limits = (soft: string, hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 ${hard}                 files\n`;

  it('parses /proc/self/limits', () => {
    expect(parseOpenFileLimit(limits('1024', '4096'))).toEqual({ soft: 1024, hard: 4096 });
    expect(parseOpenFileLimit(limits('unlimited', 'unlimited'))?.soft).toBe(Number.POSITIVE_INFINITY);
    expect(parseOpenFileLimit('nothing here')).toBeNull();
  });

  it('fails fast with GW_ERR_SIM_FD_LIMIT and the ulimit command to run', () => {
    let err: unknown;
    try {
      checkOpenFileLimit(5000, { soft: 1024, hard: 1_048_576 });
    } catch (e) {
      err = e;
    }
    expect((err as GatewayError).code).toBe('GW_ERR_SIM_FD_LIMIT');
    expect((err as Error).message).toContain('ulimit -n 6144');
    expect(() => checkOpenFileLimit(5000, { soft: requiredOpenFiles(5000), hard: 1e6 })).not.toThrow();
    expect(() => checkOpenFileLimit(5000, null)).not.toThrow();
  });
});

describe('source addresses', () => {
  it('spread over 127.0.0.x only above 25k devices on loopback', () => {
    expect(sourceAddresses('127.0.0.1', 25_000)).toEqual([]);
    expect(sourceAddresses('127.0.0.1', 60_000)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(sourceAddresses('localhost', 30_000)).toHaveLength(2);
    expect(sourceAddresses('10.0.0.5', 60_000)).toEqual([]);
  });
});
