import { describe, expect, it } from 'vitest';
import { SeriesSlots } from '../../pipelines/analytics/series-slots.js';

describe('SeriesSlots', () => {
  it('finds a device by its number as by its name, and drops the number with its last slot', () => {
    const slots = new SeriesSlots(2);
    expect(slots.slot('a', 'm', 1, 0, 5)).toBe(0);
    expect(slots.slot('b', 'm', 1, 0, 9)).toBe(1);
    // by number, by name, and a number given later: the same series
    expect(slots.slot('a', 'm', 2, 1, 5)).toBe(0);
    expect(slots.slot('b', 'm', 2, 1)).toBe(1);
    expect(slots.slot('a', 'm', 2, 1, 5)).toBe(0);
    // c takes b's slot (the least recent); a's number still finds a, b's finds nothing of b's
    expect(slots.slot('c', 'm', 3, 2, 4)).toBe(1);
    expect(slots.slot('a', 'm', 3, 2, 5)).toBe(0);
    slots.takeReassigned();
    expect(slots.slot('b', 'm', 4, 3, 9)).toBe(1);
    expect(Array.from(slots.takeReassigned())).toEqual([1]);
    expect([slots.deviceName(1), slots.evicted]).toEqual(['b', 2]);
  });

  it('gives each series one slot and lists new slots once', () => {
    const slots = new SeriesSlots(10);
    expect(slots.slot('pi-1', 'temp', 1, 0)).toBe(0);
    expect(slots.slot('pi-1', 'hum', 1, 0)).toBe(1);
    expect(slots.slot('pi-2', 'temp', 1, 0)).toBe(2);
    expect(slots.slot('pi-1', 'temp', 1, 0)).toBe(0);
    expect([slots.deviceName(1), slots.metricName(1)]).toEqual(['pi-1', 'hum']);
    expect(Array.from(slots.takeReassigned())).toEqual([0, 1, 2]);
    expect(Array.from(slots.takeReassigned())).toEqual([]);
    expect(slots.size).toBe(3);
  });

  it("gives the least recently seen series' slot to a new series once full", () => {
    const slots = new SeriesSlots(3);
    for (const d of ['a', 'b', 'c']) slots.slot(d, 'm', 1, 1);
    slots.slot('a', 'm', 2, 2); // b is now the least recent
    slots.takeReassigned();
    slots.setNewest(1, 500);
    expect(slots.slot('d', 'm', 3, 3)).toBe(1);
    expect([slots.deviceName(1), slots.newest(1), slots.evicted]).toEqual(['d', Number.NEGATIVE_INFINITY, 1]);
    expect(Array.from(slots.takeReassigned())).toEqual([1]);
    // b comes back as a new series, in the slot of the then least recent (c).
    expect(slots.slot('b', 'm', 4, 4)).toBe(2);
    expect(slots.deviceName(2)).toBe('b');
    expect(slots.size).toBe(3);
    expect(slots.evicted).toBe(2);
  });

  it('never gives away a slot named by a task that has not come back', () => {
    const slots = new SeriesSlots(2);
    slots.slot('a', 'm', 1, 0);
    slots.slot('b', 'm', 2, 0);
    // Task 1 is back, task 2 is not: only a's slot may go.
    expect(slots.slot('c', 'm', 3, 1)).toBe(0);
    expect(slots.slot('d', 'm', 3, 1)).toBe(-1);
    expect(slots.deviceName(1)).toBe('b');
    expect(slots.slot('d', 'm', 3, 2)).toBe(1);
  });

  it('forgets an evicted device entirely', () => {
    const slots = new SeriesSlots(1);
    slots.slot('a', 'm', 1, 0);
    slots.slot('b', 'm', 2, 1);
    // a's slot went to b: a comes back as new and takes it back.
    expect(slots.slot('a', 'm', 3, 2)).toBe(0);
    expect(slots.deviceName(0)).toBe('a');
    expect(slots.evicted).toBe(2);
  });

  it("gives a device's new series the slot of its own last one", () => {
    const slots = new SeriesSlots(1);
    expect(slots.slot('a', 'm', 1, 0)).toBe(0);
    slots.takeReassigned();
    // a/m is the least recent and its task is back: a/n takes its slot.
    expect(slots.slot('a', 'n', 2, 1)).toBe(0);
    expect([slots.deviceName(0), slots.metricName(0)]).toEqual(['a', 'n']);
    expect(Array.from(slots.takeReassigned())).toEqual([0]);
    // a/n keeps it: found again, not taken anew.
    expect(slots.slot('a', 'n', 3, 2)).toBe(0);
    expect(Array.from(slots.takeReassigned())).toEqual([]);
    expect(slots.evicted).toBe(1);
  });
});
