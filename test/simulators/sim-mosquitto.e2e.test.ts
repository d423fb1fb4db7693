// End to end against the Mosquitto on 127.0.0.1:1883: any MQTT 3.1.1 broker
// must do, not just our gateway.

import { describe, expect, it } from 'vitest';
import { SIM_CLI } from '../../simulators/run-cli.js';
import { jsonOut, runCli } from './spawn-cli.js';

const URL = 'mqtt://127.0.0.1:1883';
const prefix = (tag: string) => `e2e-${process.pid}-${tag}-`;

describe('sim CLI against Mosquitto', () => {
  it('runs 300 devices at QoS 1 through dropouts and churn with nothing unacknowledged', async () => {
    const result = await runCli(SIM_CLI, [
      ...['--url', URL, '--devices', '300', '--rate', '2', '--duration', '3', '--qos', '1'],
      ...['--dropouts', '1800', '--dropout-max', '1', '--churn', '0.2', '--churn-interval', '1'],
      ...['--id-prefix', prefix('q1'), '--json'],
    ]);
    const s = jsonOut(result);
    expect(result.code, result.stderr).toBe(0);
    expect(s.ok).toBe(true);
    // With a dropout every 2 s per device, the fleet is never all online at once.
    expect(s.connections.connects).toBeGreaterThan(300);
    expect(s.messages.sent).toBeGreaterThan(1000);
    expect(s.messages.unacked).toBe(0);
    expect(s.messages.acked).toBe(s.messages.sent);
    expect(s.readings.acked).toBe(s.readings.sent);
    expect(s.messages.replayed).toBeGreaterThan(0);
    expect(s.connections.reconnects).toBeGreaterThan(0);
    expect(s.ackLatencyMs?.p99).toBeGreaterThan(0);
    expect(s.cpu.percent).toBeGreaterThan(0);
  });

  it('runs QoS 2 with batches', async () => {
    const result = await runCli(SIM_CLI, [
      ...['--url', URL, '--devices', '50', '--rate', '5', '--batch', '5', '--duration', '2', '--qos', '2'],
      ...['--id-prefix', prefix('q2'), '--json', '--quiet'],
    ]);
    const s = jsonOut(result);
    expect(result.code, result.stderr).toBe(0);
    expect(s.messages.unacked).toBe(0);
    expect(s.readings.acked).toBe(s.readings.sent);
    // A live message carries one batch: 5 readings of 3 metrics. A device that
    // reached its in-flight limit (QoS 2 takes two round trips, and a loaded
    // machine slows them) sends what it buffered as larger replay messages,
    // so only the live ones have a fixed size.
    const live = {
      messages: s.messages.sent - s.messages.replayed,
      readings: s.readings.sent - s.readings.replayed,
    };
    expect(live.messages).toBeGreaterThan(0);
    expect(live.readings).toBe(live.messages * 5 * 3);
    expect(s.readings.replayed % 3).toBe(0);
  });

  it('fails with GW_ERR_SIM_CONNECT when nothing listens', async () => {
    const result = await runCli(SIM_CLI, [
      '--url',
      'mqtt://127.0.0.1:1',
      '--devices',
      '10',
      '--duration',
      '1',
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(jsonOut(result).error?.code).toBe('GW_ERR_SIM_CONNECT');
    expect(result.stderr).toContain('GW_ERR_SIM_CONNECT');
  });

  it('fails with GW_ERR_CLI_USAGE and exit code 2 on a bad option', async () => {
    const result = await runCli(SIM_CLI, ['--qos', '5', '--json']);
    expect(result.code).toBe(2);
    expect(jsonOut(result).error?.code).toBe('GW_ERR_CLI_USAGE');
  });

  it('fails fast with GW_ERR_SIM_FD_LIMIT when ulimit -n is too low', async () => {
    const result = await runCli(SIM_CLI, ['--devices', '2000', '--duration', '1', '--json'], 'ulimit -n 512');
    expect(result.code).toBe(1);
    expect(jsonOut(result).error?.code).toBe('GW_ERR_SIM_FD_LIMIT');
    expect(result.stderr).toContain('ulimit -n 3072');
  });
});
