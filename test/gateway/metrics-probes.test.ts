import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../gateway/metrics.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

const sample = (text: string, series: string) =>
  text.split('\n').find((line) => line.startsWith(`${series} `) || line === series);

describe('metrics gauges', () => {
  it('read 0 until a step gives their source, then read it', async () => {
    const metrics = createMetrics();
    expect(sample(await metrics.registry.metrics(), 'gateway_connected_clients')).toBe(
      'gateway_connected_clients 0',
    );
    metrics.probe({ connectedClients: () => 7 });
    metrics.probePool('query', () => 0.5);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'gateway_connected_clients')).toBe('gateway_connected_clients 7');
    expect(sample(text, 'gateway_worker_pool_utilization{pool="query"}')).toBe(
      'gateway_worker_pool_utilization{pool="query"} 0.5',
    );
  });

  it("the event loop's stalls split into waits for a core and busy time", async () => {
    const metrics = createMetrics();
    const window = {
      p50Ms: 1,
      p99Ms: 20,
      maxMs: 60,
      meanMs: 2,
      split: { cpuWaitMs: 250, cpuWaitMaxMs: 45, busyMaxMs: 15 },
    };
    metrics.probe({ eventLoop: { rotate: () => window, last: () => window, stop() {} } });
    const text = await metrics.registry.metrics();
    const expected: Array<[string, number]> = [
      ['gateway_event_loop_cpu_wait_seconds{stat="sum"}', 0.25],
      ['gateway_event_loop_cpu_wait_seconds{stat="max"}', 0.045],
      ['gateway_event_loop_busy_max_seconds', 0.015],
    ];
    for (const [series, value] of expected) expect(sample(text, series)).toBe(`${series} ${value}`);
  });

  it("Node's default metrics and the writer's load", async () => {
    const metrics = createMetrics();
    metrics.writerLoad({
      busyMs: 1500,
      longestMs: 12,
      refreshLongestMs: 4,
      refresh: { minuteRows: 30, hourRows: 2, readings: 900, left: 0 },
    });
    metrics.writerLoad({
      busyMs: 500,
      longestMs: 3,
      refreshLongestMs: 1,
      refresh: { minuteRows: 10, hourRows: 0, readings: 100, left: 0 },
    });
    const text = await metrics.registry.metrics();
    for (const series of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(sample(text, series), series).toBeDefined();
    expect(sample(text, 'gateway_writer_busy_seconds_total')).toBe('gateway_writer_busy_seconds_total 2');
    // The last window's longest, not the run's.
    expect(sample(text, 'gateway_writer_longest_transaction_seconds')).toBe(
      'gateway_writer_longest_transaction_seconds 0.003',
    );
    expect(sample(text, 'gateway_rollup_rows_rewritten_total{tier="1m"}')).toBe(
      'gateway_rollup_rows_rewritten_total{tier="1m"} 40',
    );
    expect(sample(text, 'gateway_rollup_readings_read_total')).toBe(
      'gateway_rollup_readings_read_total 1000',
    );
  });

  describe('in the running gateway', () => {
    let gw: InProcessGateway;
    beforeAll(async () => {
      gw = await startInProcessGateway();
    });
    afterAll(async () => gw.close());

    it('every gauge has its source: pools, event loop, clients, queue', async () => {
      const text = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
      for (const series of [
        'gateway_worker_pool_utilization{pool="analytics"}',
        'gateway_worker_pool_utilization{pool="query"}',
        'gateway_event_loop_delay_seconds{quantile="0.99"}',
        'gateway_connected_clients',
        'gateway_write_queue_readings',
        'gateway_parked_messages',
      ])
        expect(sample(text, series), series).toBeDefined();
    });
  });
});
