import { describe, expect, it } from 'vitest';
import { createAckLatency } from '../../gateway/ack-latency.js';
import { createPublishAuthorizer } from '../../gateway/publish-authorizer.js';
import type { IngestPipeline } from '../../pipelines/ingest-pipeline.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';

describe('ack latency windows', () => {
  it('reports p50, p99 and max of the window, then starts empty', () => {
    const latency = createAckLatency();
    for (let i = 1; i <= 100; i++) latency.record(i / 10); // 0.1 … 10 ms
    const w = latency.rotate();
    expect(w.count).toBe(100);
    expect(w.p50Ms).toBeCloseTo(5, 1);
    expect(w.p99Ms).toBeCloseTo(9.9, 1);
    expect(w.maxMs).toBeCloseTo(10, 1);
    expect(latency.rotate()).toEqual({ p50Ms: 0, p99Ms: 0, maxMs: 0, count: 0 });
  });
});

describe('the publish authorizer reports how long it held each ack', () => {
  function rig() {
    const offered: IngestMessage[] = [];
    const pipeline = {
      offer: (message: IngestMessage, admitted: () => void) => {
        offered.push(message);
        admitted();
      },
    } as unknown as IngestPipeline;
    const held: number[] = [];
    const authorize = createPublishAuthorizer({
      pipeline,
      isDraining: () => false,
      acked: (ms) => held.push(ms),
    });
    const results: Array<Error | null> = [];
    const publish = (qos: 0 | 1 | 2) =>
      authorize(
        null,
        {
          cmd: 'publish',
          topic: 'devices/pi-1/telemetry',
          payload: Buffer.from('{}'),
          qos,
          dup: false,
          retain: false,
          messageId: 1,
        },
        (err) => results.push(err ?? null),
      );
    return { offered, held, results, publish };
  }

  it('once per QoS 1/2 message released after commit, never for a refused one or QoS 0', () => {
    const r = rig();
    r.publish(1);
    r.publish(2);
    r.publish(1);
    r.publish(0);
    expect(r.held).toEqual([]); // nothing committed yet: nothing released
    r.offered[0]!.settle();
    r.offered[1]!.settle();
    r.offered[2]!.settle(new Error('commit failed'));
    r.offered[1]!.settle(); // a second settle of the same message is ignored
    expect(r.held).toHaveLength(2);
    for (const ms of r.held) expect(ms).toBeGreaterThanOrEqual(0);
    expect(r.results.filter((e) => e === null)).toHaveLength(3); // two released, QoS 0 at once
  });
});
