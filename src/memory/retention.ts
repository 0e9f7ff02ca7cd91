/**
 * The forgetting curve, as pure functions: what a recall is worth, how the access log moves after one, and whether a
 * memory is still retained at a given time. No clock is read here: every function takes `now`, so the figures are
 * reproducible and tests run on a fixed clock.
 *
 * - quality `q` of a recall: the rerank score when there is one, else the 0–1 similarity; recalls with q < 0.5 do
 *   not count.
 * - after a counted recall: `quality_ema = 0.3 q + 0.7 previous` (first recall: q), `recall_count = min(n + 1, 6)`,
 *   `last_recalled_at = now`.
 * - retention: `strength = min(count, 6) × ema`, `S = s0 × 1.8^strength` days (s0 by `memory_subtype`),
 *   `age` = days since the last recall, else since creation (unknown: 3650), `R = exp(−age / S)`.
 * - forget when `R < 0.05`, or when a hard TTL is set and the memory was created more than that many days ago.
 * @module
 */
import { EMA_ALPHA, MAX_RECALL_COUNT, MIN_QUALITY } from '../store/access-log.js';
import type { ScoredResult } from '../store/access-log.js';

/** Each unit of strength multiplies the stability by this. */
export const STABILITY_GROWTH = 1.8;
/** Below this retention a memory is forgotten. */
export const FORGET_THRESHOLD = 0.05;
/** Age used when a memory has neither a recall nor a readable creation time (about ten years: forget it early). */
export const UNKNOWN_AGE_DAYS = 3650;
/** Base stability in days by memory subtype; anything else (or none) uses `other`. */
export const BASE_STABILITY_DAYS = { episodic: 14, semantic: 45, procedural: 90, other: 30 } as const;

const MS_PER_DAY = 86_400_000;

/** One memory's access-log row. */
export interface AccessRecord {
  recallCount: number;
  qualityEma: number;
  lastRecalledAt: Date;
}

/** What the curve needs to know about a memory. Timestamps may be anything {@link parseTimestamp} accepts. */
export interface RetentionInput {
  createdAt?: unknown;
  memorySubtype?: unknown;
}

export interface RetentionOptions {
  now: Date;
  /** Hard TTL in days; null, undefined, 0, negative or not finite: none. */
  ttlDays?: number | null | undefined;
}

/** Every figure of one evaluation; the snake_case names are the ones forget_memories reports. */
export interface RetentionFigures {
  recall_count: number;
  quality_ema: number;
  recall_strength: number;
  stability_days: number;
  age_days: number;
  age_since_created_days: number;
  retention: number;
  ttl_expired: boolean;
  /** The subtype as stored (trimmed, lower-cased), or null. */
  memory_subtype: string | null;
  s0_used: number;
  forget: boolean;
  /** Why it is forgotten: the TTL wins when both apply; null when retained. */
  reason: 'ttl_expired' | 'low_retention' | null;
}

/**
 * The quality of one recall, or null when it does not count (below {@link MIN_QUALITY}, or no usable score).
 * The value is clamped to [0, 1] so the EMA stays a 0–1 figure whatever scale a reranker uses.
 */
export function qualityOf(result: ScoredResult): number | null {
  const rerank = finite(result.rerankScore) ?? finite(result.rerank_score);
  const q = rerank ?? finite(result.score);
  if (q === null) return null;
  const clamped = Math.min(1, Math.max(0, q));
  return clamped >= MIN_QUALITY ? clamped : null;
}

/** The access-log row after one counted recall of quality `q` at `now`. */
export function nextAccess(prev: AccessRecord | undefined, q: number, now: Date): AccessRecord {
  if (!prev) return { recallCount: 1, qualityEma: q, lastRecalledAt: now };
  return {
    recallCount: Math.min(prev.recallCount + 1, MAX_RECALL_COUNT),
    qualityEma: EMA_ALPHA * q + (1 - EMA_ALPHA) * prev.qualityEma,
    lastRecalledAt: now,
  };
}

/** The base stability for a subtype (case and surrounding blanks ignored). */
export function baseStability(subtype: string | null): number {
  switch (subtype) {
    case 'episodic':
    case 'semantic':
    case 'procedural':
      return BASE_STABILITY_DAYS[subtype];
    default:
      return BASE_STABILITY_DAYS.other;
  }
}

/** Evaluates one memory at `options.now`. */
export function retention(memory: RetentionInput, access: AccessRecord | undefined, options: RetentionOptions): RetentionFigures {
  const now = options.now.getTime();
  const count = access ? Math.min(Math.max(0, Math.trunc(access.recallCount)), MAX_RECALL_COUNT) : 0;
  const ema = access && Number.isFinite(access.qualityEma) ? access.qualityEma : 0;
  const strength = count * ema;
  const subtype = typeof memory.memorySubtype === 'string' && memory.memorySubtype.trim() !== ''
    ? memory.memorySubtype.trim().toLowerCase()
    : null;
  const s0 = baseStability(subtype);
  const stability = s0 * STABILITY_GROWTH ** strength;

  const created = parseTimestamp(memory.createdAt);
  const recalled = access ? parseTimestamp(access.lastRecalledAt) : null;
  const sinceCreated = created === null ? UNKNOWN_AGE_DAYS : daysBetween(created, now);
  const age = recalled === null ? sinceCreated : daysBetween(recalled, now);
  const r = Math.exp(-age / stability);

  const ttl = options.ttlDays;
  const ttlExpired = typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 && sinceCreated > ttl;
  const lowRetention = r < FORGET_THRESHOLD;
  return {
    recall_count: count,
    quality_ema: ema,
    recall_strength: strength,
    stability_days: stability,
    age_days: age,
    age_since_created_days: sinceCreated,
    retention: r,
    ttl_expired: ttlExpired,
    memory_subtype: subtype,
    s0_used: s0,
    forget: ttlExpired || lowRetention,
    reason: ttlExpired ? 'ttl_expired' : lowRetention ? 'low_retention' : null,
  };
}

/** Whole and fractional days from `from` to `to` (ms); a time in the future counts as age 0. */
function daysBetween(from: number, to: number): number {
  return Math.max(0, (to - from) / MS_PER_DAY);
}

// ISO-8601 date, optional time (T or space), optional fraction (any digits), optional zone (Z, ±hh, ±hhmm, ±hh:mm).
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const EPOCH = /^[+-]?\d+(?:\.\d+)?$/;
/** Epoch numbers at or above this are taken as milliseconds (as seconds they would be after the year 5000). */
const EPOCH_MS_FROM = 1e11;

/**
 * A timestamp as epoch milliseconds, or null when missing or unreadable. Accepts a Date, epoch seconds (number or
 * numeric string; very large values are taken as milliseconds), and ISO-8601 strings with or without a zone.
 *
 * A string without a zone is read as UTC, not as the server's local time: Mem0's Python store writes aware
 * timestamps and our store writes UTC, so a naive one comes from a writer that dropped the `+00:00`
 * (`datetime.utcnow().isoformat()`); reading it in the host's zone would make the same memory's age depend on where
 * the plugin runs. The store's own parser (store/refresh.ts) makes the same choice, so both agree.
 */
export function parseTimestamp(value: unknown): number | null {
  if (value instanceof Date) return finite(value.getTime());
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '') return null;
  if (EPOCH.test(text)) return fromEpoch(Number(text));
  const m = ISO.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zulu, sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || Number(oh) > 23 || Number(om) > 59) return null;
  const ms = Number(`0.${frac || '0'}`) * 1000;
  const local = Date.UTC(year, month - 1, day, hour, minute, second) + ms;
  // Date.UTC rolls 2025-02-30 over into March: a day that does not exist is unreadable, not a different day.
  if (new Date(local).getUTCDate() !== day) return null;
  const offsetMin = zulu || !sign ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return finite(local - offsetMin * 60_000);
}

function fromEpoch(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  return Math.abs(n) >= EPOCH_MS_FROM ? n : n * 1000;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
