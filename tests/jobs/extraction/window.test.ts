import { describe, expect, it } from 'vitest';
import { extractionWindow, localDate, resolveTimeZone, startOfLocalDay } from '../../../src/jobs/extraction/window.js';

const at = (iso: string) => () => new Date(iso);
const iso = (d: Date) => d.toISOString();
const HOUR = 3_600_000;

describe('extractionWindow', () => {
  it('is [midnight - days_back, midnight) in UTC', () => {
    const w = extractionWindow(1, { timeZone: 'UTC', now: at('2026-03-10T15:00:00Z') });
    expect(iso(w.start)).toBe('2026-03-09T00:00:00.000Z');
    expect(iso(w.end)).toBe('2026-03-10T00:00:00.000Z');
    expect(w.startSec).toBe(Date.parse('2026-03-09T00:00:00Z') / 1000);
    expect(w.endSec).toBe(Date.parse('2026-03-10T00:00:00Z') / 1000);
  });

  it('uses the local date of the configured zone, not the UTC date', () => {
    // 01:00 UTC is already 09:00 on the 10th in Shanghai, but still the 9th in Los Angeles.
    const sh = extractionWindow(1, { timeZone: 'Asia/Shanghai', now: at('2026-03-10T01:00:00Z') });
    expect(iso(sh.start)).toBe('2026-03-08T16:00:00.000Z');
    expect(iso(sh.end)).toBe('2026-03-09T16:00:00.000Z');
    const la = extractionWindow(1, { timeZone: 'America/Los_Angeles', now: at('2026-03-10T01:00:00Z') });
    expect(iso(la.end)).toBe('2026-03-09T07:00:00.000Z'); // midnight PDT (DST began on the 8th)
    expect(iso(la.start)).toBe('2026-03-08T08:00:00.000Z'); // midnight PST: that day had 23 hours
  });

  it('treats the exact local midnight as the new day', () => {
    const w = extractionWindow(1, { timeZone: 'Asia/Shanghai', now: at('2026-03-09T16:00:00Z') });
    expect(iso(w.end)).toBe('2026-03-09T16:00:00.000Z');
    const before = extractionWindow(1, { timeZone: 'Asia/Shanghai', now: at('2026-03-09T15:59:59.999Z') });
    expect(iso(before.end)).toBe('2026-03-08T16:00:00.000Z');
  });

  it('spans a spring-forward day as 23 hours and a fall-back day as 25 (New York)', () => {
    const spring = extractionWindow(1, { timeZone: 'America/New_York', now: at('2026-03-09T12:00:00Z') });
    expect(iso(spring.start)).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(spring.end)).toBe('2026-03-09T04:00:00.000Z');
    expect(spring.end.getTime() - spring.start.getTime()).toBe(23 * HOUR);

    const fall = extractionWindow(1, { timeZone: 'America/New_York', now: at('2026-11-02T12:00:00Z') });
    expect(iso(fall.start)).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(fall.end)).toBe('2026-11-02T05:00:00.000Z');
    expect(fall.end.getTime() - fall.start.getTime()).toBe(25 * HOUR);

    // Seven days across the change are 7 × 24 − 1 hours, not 7 × 86 400 s.
    const week = extractionWindow(7, { timeZone: 'Europe/Berlin', now: at('2026-04-01T10:00:00Z') });
    expect(iso(week.end)).toBe('2026-03-31T22:00:00.000Z');
    expect(iso(week.start)).toBe('2026-03-24T23:00:00.000Z');
    expect(week.end.getTime() - week.start.getTime()).toBe((7 * 24 - 1) * HOUR);
  });

  it('starts a day whose midnight does not exist at the first instant it has', () => {
    // Santiago jumps from 00:00 to 01:00 on 2026-09-06; Beirut on 2026-03-29.
    expect(iso(startOfLocalDay({ year: 2026, month: 9, day: 6 }, 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    expect(iso(startOfLocalDay({ year: 2026, month: 3, day: 29 }, 'Asia/Beirut'))).toBe('2026-03-28T22:00:00.000Z');
  });

  it('finds the true start of every day of 2026 in zones with unusual rules', () => {
    const zones = [
      'UTC', 'America/New_York', 'America/Santiago', 'America/Asuncion', 'America/Havana', 'America/St_Johns',
      'America/Sao_Paulo', 'Asia/Beirut', 'Asia/Tehran', 'Asia/Kathmandu', 'Asia/Kolkata', 'Asia/Shanghai',
      'Australia/Lord_Howe', 'Pacific/Chatham', 'Pacific/Apia', 'Pacific/Kiritimati', 'Europe/Dublin', 'Europe/London',
      'Africa/Casablanca', 'Africa/Cairo',
    ];
    for (const zone of zones) {
      for (let d = 0; d < 366; d++) {
        const date = new Date(Date.UTC(2026, 0, 1 + d));
        const day = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
        const start = startOfLocalDay(day, zone);
        expect(localDate(start, zone), `${zone} ${iso(date)}`).toEqual(day);
        const before = localDate(new Date(start.getTime() - 1000), zone);
        expect(before, `${zone} ${iso(date)} second before`).not.toEqual(day);
      }
    }
  });

  it('refuses a days_back that is not a whole number >= 1', () => {
    expect(() => extractionWindow(0, { timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => extractionWindow(1.5, { timeZone: 'UTC' })).toThrow(RangeError);
  });
});

describe('resolveTimeZone', () => {
  it('prefers PLUGIN_TIMEZONE, then TZ, then UTC', () => {
    expect(resolveTimeZone({ PLUGIN_TIMEZONE: 'Asia/Shanghai', TZ: 'Europe/Berlin' })).toEqual({ timeZone: 'Asia/Shanghai', source: 'PLUGIN_TIMEZONE', rejected: undefined });
    expect(resolveTimeZone({ TZ: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(resolveTimeZone({ TZ: ':Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(resolveTimeZone({})).toEqual({ timeZone: 'UTC', source: 'default', rejected: undefined });
  });

  it('skips names Intl does not know and says which one it refused', () => {
    expect(resolveTimeZone({ PLUGIN_TIMEZONE: 'Mars/Olympus', TZ: 'Asia/Tokyo' })).toEqual({ timeZone: 'Asia/Tokyo', source: 'TZ', rejected: 'Mars/Olympus' });
    expect(resolveTimeZone({ TZ: 'EST5EDT,M3.2.0,M11.1.0' })).toMatchObject({ timeZone: 'UTC', source: 'default', rejected: 'EST5EDT,M3.2.0,M11.1.0' });
  });
});
