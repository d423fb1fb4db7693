// Wall-clock time in a named zone → epoch ms, for firmware that sends local
// time with no offset (Tasmota's "Time"). Intl knows the zone rules; no table here.

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export type LocalTimeParser = (text: string) => number | undefined;

/** Throws a RangeError for a zone Intl does not know: the config check calls it at start. */
export function createLocalTimeParser(timeZone: string): LocalTimeParser {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  // Offset of the zone at `utc`: its wall clock read back as if it were UTC, minus utc.
  const offsetAt = (utc: number): number => {
    const p: Record<string, number> = {};
    for (const part of format.formatToParts(utc)) p[part.type] = Number(part.value);
    const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return wall - Math.floor(utc / 1000) * 1000;
  };
  return (text) => {
    if (WITH_OFFSET.test(text)) return Date.parse(text);
    const m = LOCAL.exec(text);
    if (m === null) return undefined;
    const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    if (Number.isNaN(wall)) return undefined;
    // Two passes settle the offset across a DST change.
    const first = wall - offsetAt(wall);
    return wall - offsetAt(first);
  };
}
