import { describe, expect, it } from 'vitest';
import { createDeviceNumbers, NO_DEVICE_NUMBER } from '../../pipelines/device-numbers.js';

describe('device numbers', () => {
  it('gives each id one small number, the same every time, and none past the cap', () => {
    const numbers = createDeviceNumbers(3);
    expect(['a', 'b', 'a', 'c', 'b'].map((id) => numbers.of(id))).toEqual([0, 1, 0, 2, 1]);
    expect(numbers.of('d')).toBe(NO_DEVICE_NUMBER);
    expect(numbers.of('c')).toBe(2);
    expect(numbers.size).toBe(3);
  });
});
