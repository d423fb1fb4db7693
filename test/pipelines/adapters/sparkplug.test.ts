import { describe, expect, it } from 'vitest';
import { createSparkplugAdapter } from '../../../pipelines/adapters/sparkplug.js';
import { encodeSparkplug, metricNames } from '../../../simulators/sparkplug-encode.js';

const T0 = Date.UTC(2026, 0, 1);

// The specification's example flow (section 6.4): NBIRTH with bdSeq and Node
// Control/Rebirth, DBIRTH announcing aliases, then DDATA by alias only.
function edge() {
  const sent: Array<{ topic: string; names: string[] }> = [];
  const sp = createSparkplugAdapter({
    send: (topic, payload) => sent.push({ topic, names: metricNames(payload) }),
    now: () => T0,
  });
  const nbirth = encodeSparkplug({
    timestamp: T0,
    seq: 0,
    metrics: [
      { name: 'bdSeq', datatype: 8, value: 0 },
      { name: 'Node Control/Rebirth', value: false },
      { name: 'Inputs/Temperature', alias: 1, datatype: 9, value: 20.5 },
    ],
  });
  const dbirth = encodeSparkplug({
    timestamp: T0,
    seq: 1,
    metrics: [
      { name: 'Outputs/Pressure', alias: 10, datatype: 10, value: 1.25 },
      { name: 'Outputs/Running', alias: 11, value: true },
      { name: 'Outputs/Offset', alias: 12, datatype: 3, value: -5 },
      { name: 'Label', alias: 13, value: 'pump' },
    ],
  });
  return { sp, sent, nbirth, dbirth };
}

describe('sparkplug', () => {
  it('owns BIRTH, DATA and DEATH, not commands or STATE', () => {
    const { sp } = edge();
    expect(sp.owns('spBv1.0/plant/NBIRTH/edge1')).toBe(true);
    expect(sp.owns('spBv1.0/plant/DDATA/edge1/pump')).toBe(true);
    expect(sp.owns('spBv1.0/plant/NCMD/edge1')).toBe(false);
    expect(sp.owns('spBv1.0/STATE/host')).toBe(false);
  });

  it('stores node and device metrics, resolves DDATA aliases, signs Int32, skips controls and strings', () => {
    const { sp, sent, nbirth, dbirth } = edge();
    expect(sp.decode('spBv1.0/plant/NBIRTH/edge1', nbirth, T0)).toEqual({
      kind: 'readings',
      rejections: [],
      readings: [{ deviceId: 'plant.edge1', metric: 'Inputs.Temperature', ts: T0, value: 20.5 }],
    });
    const births = sp.decode('spBv1.0/plant/DBIRTH/edge1/pump', dbirth, T0);
    expect(births).toMatchObject({ kind: 'readings', rejections: [] });
    const ddata = encodeSparkplug({
      timestamp: T0 + 1000,
      seq: 2,
      metrics: [
        { alias: 10, timestamp: T0 + 900, datatype: 10, value: 1.5 },
        { alias: 11, value: false },
        { alias: 12, datatype: 3, value: -7 },
      ],
    });
    expect(sp.decode('spBv1.0/plant/DDATA/edge1/pump', ddata, T0 + 1000)).toEqual({
      kind: 'readings',
      rejections: [],
      readings: [
        { deviceId: 'plant.edge1.pump', metric: 'Outputs.Pressure', ts: T0 + 900, value: 1.5 },
        { deviceId: 'plant.edge1.pump', metric: 'Outputs.Running', ts: T0 + 1000, value: 0 },
        { deviceId: 'plant.edge1.pump', metric: 'Outputs.Offset', ts: T0 + 1000, value: -7 },
      ],
    });
    expect(sent).toEqual([]);
  });

  it('asks for a rebirth, once, on an unknown alias or a seq gap, and says which', () => {
    const { sp, sent, nbirth } = edge();
    sp.decode('spBv1.0/plant/NBIRTH/edge1', nbirth, T0);
    const unknown = encodeSparkplug({
      seq: 1,
      metrics: [
        { alias: 99, value: 3 },
        { alias: 1, datatype: 9, value: 21 },
      ],
    });
    expect(sp.decode('spBv1.0/plant/NDATA/edge1', unknown, T0)).toEqual({
      kind: 'readings',
      rejections: [{ index: 0, code: 'GW_ERR_SPARKPLUG_ALIAS_UNKNOWN' }],
      readings: [{ deviceId: 'plant.edge1', metric: 'Inputs.Temperature', ts: T0, value: 21 }],
    });
    const gap = encodeSparkplug({ seq: 5, metrics: [{ alias: 1, datatype: 9, value: 22 }] });
    expect(sp.decode('spBv1.0/plant/NDATA/edge1', gap, T0)).toMatchObject({
      rejections: [{ index: 0, code: 'GW_ERR_SPARKPLUG_SEQ_GAP' }],
    });
    expect(sent).toEqual([{ topic: 'spBv1.0/plant/NCMD/edge1', names: ['Node Control/Rebirth'] }]);
    // A new NBIRTH answers it: the next problem asks again.
    sp.decode('spBv1.0/plant/NBIRTH/edge1', nbirth, T0);
    sp.decode('spBv1.0/plant/NDATA/edge1', gap, T0);
    expect(sent).toHaveLength(2);
  });

  it('refuses bytes that are not a Payload and topics that are not Sparkplug', () => {
    const { sp } = edge();
    expect(sp.decode('spBv1.0/plant/NDATA/edge1', new Uint8Array([0x12, 0xff, 0x01]), T0)).toEqual({
      kind: 'refused',
      code: 'GW_ERR_SPARKPLUG_DECODE',
      deviceId: 'plant.edge1',
    });
    expect(sp.decode('spBv1.0/plant/DDATA/edge1', encodeSparkplug({ metrics: [] }), T0)).toMatchObject({
      code: 'GW_ERR_SPARKPLUG_TOPIC',
    });
  });
});
