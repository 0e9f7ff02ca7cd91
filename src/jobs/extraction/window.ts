/**
 * The extraction window: `[local midnight − days_back days, local midnight)`, where "local" is the plugin's configured
 * IANA time zone (`PLUGIN_TIMEZONE`, else `TZ`, else UTC). Midnights are found through `Intl` for the calendar date in
 * that zone, never by subtracting 86 400 s, so days of 23 or 25 hours (daylight saving changes) come out right, and a
 * day whose midnight does not exist (a DST jump at 00:00) starts at the first instant it has.
 *
 * The window always lies in the past: its end is today's midnight. Once read, nothing new can appear inside it.
 * @module
 */

export interface ExtractionWindow {
  /** First instant inside the window (local midnight `daysBack` days ago). */
  start: Date;
  /** First instant after the window (today's local midnight). */
  end: Date;
  /** The same bounds in Unix seconds, the unit of Dify's `created_at`/`updated_at`. */
  startSec: number;
  endSec: number;
  timeZone: string;
  daysBack: number;
}

export interface ResolvedTimeZone {
  timeZone: string;
  /** Where it came from; `default` also when the configured value was not a zone `Intl` knows. */
  source: 'PLUGIN_TIMEZONE' | 'TZ' | 'default';
  /** The configured value that was refused, if any (to log a warning once). */
  rejected?: string | undefined;
}

/** Picks the zone from `PLUGIN_TIMEZONE`, then `TZ`; unknown names fall through to the next, finally UTC. */
export function resolveTimeZone(env: Record<string, string | undefined> = process.env): ResolvedTimeZone {
  let rejected: string | undefined;
  for (const key of ['PLUGIN_TIMEZONE', 'TZ'] as const) {
    const raw = env[key]?.trim();
    if (!raw) continue;
    // glibc accepts TZ=":Europe/Berlin"; the colon only means "read from the zone database".
    const name = raw.startsWith(':') ? raw.slice(1) : raw;
    if (isTimeZone(name)) return { timeZone: canonicalZone(name), source: key, rejected };
    rejected ??= raw;
  }
  return { timeZone: 'UTC', source: 'default', rejected };
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function canonicalZone(name: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
}

/** Window for `daysBack` whole local days before today, as seen by `now` in `timeZone`. */
export function extractionWindow(daysBack: number, options: { timeZone: string; now?: (() => Date) | undefined }): ExtractionWindow {
  if (!Number.isInteger(daysBack) || daysBack < 1) throw new RangeError('daysBack must be a whole number >= 1');
  const now = (options.now ?? (() => new Date()))();
  const today = localDate(now, options.timeZone);
  const end = startOfLocalDay(today, options.timeZone);
  const start = startOfLocalDay(addDays(today, -daysBack), options.timeZone);
  return {
    start,
    end,
    startSec: Math.floor(start.getTime() / 1000),
    endSec: Math.floor(end.getTime() / 1000),
    timeZone: options.timeZone,
    daysBack,
  };
}

/** A calendar date (no zone): month 1–12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalParts extends CalendarDate {
  hour: number;
  minute: number;
  second: number;
}

function localParts(instant: Date, timeZone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute!, second: out.second! };
}

/** The calendar date `instant` falls on in `timeZone`. */
export function localDate(instant: Date, timeZone: string): CalendarDate {
  const { year, month, day } = localParts(instant, timeZone);
  return { year, month, day };
}

/** Local wall time minus UTC, in ms, at `instant` (whole seconds; sub-second offsets are historical only). */
function offsetAt(instant: number, timeZone: string): number {
  const p = localParts(new Date(instant), timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

function addDays(date: CalendarDate, days: number): CalendarDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function sameDate(a: CalendarDate, b: CalendarDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/**
 * The first instant of `date` in `timeZone`. Each offset in force around that day gives one candidate
 * (`wall midnight − offset`); the true start is the earliest candidate that falls on `date` locally. That covers a
 * midnight that happens twice (the first one wins) and one that does not happen at all (the jump instant wins).
 */
export function startOfLocalDay(date: CalendarDate, timeZone: string): Date {
  const wallMidnight = Date.UTC(date.year, date.month - 1, date.day);
  const DAY = 86_400_000;
  const offsets = new Set<number>();
  for (const probe of [wallMidnight - DAY, wallMidnight, wallMidnight + DAY]) offsets.add(offsetAt(probe, timeZone));
  for (const offset of [...offsets]) offsets.add(offsetAt(wallMidnight - offset, timeZone));
  let best: number | undefined;
  for (const offset of offsets) {
    const candidate = wallMidnight - offset;
    if (!sameDate(localDate(new Date(candidate), timeZone), date)) continue;
    if (best === undefined || candidate < best) best = candidate;
  }
  if (best === undefined) throw new RangeError(`no start of day found for ${date.year}-${date.month}-${date.day} in ${timeZone}`);
  return new Date(best);
}
