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
