import { describe, expect, it } from 'vitest';
import {
  FORGET_THRESHOLD, UNKNOWN_AGE_DAYS, nextAccess, parseTimestamp, qualityOf, retention,
} from '../../../src/memory/retention.js';
import type { AccessRecord } from '../../../src/memory/retention.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const at = (msBeforeNow: number) => new Date(NOW.getTime() - msBeforeNow);
/** The age (ms) at which R = exp(-age/S) reaches exactly 0.05, for stability S days. */
const crossing = (stabilityDays: number) => stabilityDays * Math.log(1 / FORGET_THRESHOLD) * DAY;

describe('qualityOf', () => {
  it('uses the rerank score when there is one, else the score', () => {
    expect(qualityOf({ rerankScore: 0.7, score: 0.2 })).toBe(0.7);
    expect(qualityOf({ rerank_score: 0.8, score: 0.2 })).toBe(0.8);
    expect(qualityOf({ rerankScore: 0.4, score: 0.9 })).toBeNull();
    expect(qualityOf({ rerankScore: null, score: 0.9 })).toBe(0.9);
    expect(qualityOf({ score: 0.9 })).toBe(0.9);
  });

  it('counts 0.5 and refuses anything just under it', () => {
    expect(qualityOf({ score: 0.5 })).toBe(0.5);
    expect(qualityOf({ score: 0.49999999 })).toBeNull();
    expect(qualityOf({ score: Number.NaN })).toBeNull();
    expect(qualityOf({})).toBeNull();
  });

  it('clamps scores from rerankers that exceed 1', () => {
    expect(qualityOf({ rerankScore: 3.2 })).toBe(1);
  });
});

describe('nextAccess', () => {
  it('takes q on the first recall, then 0.3 q + 0.7 previous, capping the count at 6', () => {
    const t1 = at(DAY);
    let a: AccessRecord = nextAccess(undefined, 0.8, t1);
    expect(a).toEqual({ recallCount: 1, qualityEma: 0.8, lastRecalledAt: t1 });
    a = nextAccess(a, 0.5, NOW);
    expect(a.recallCount).toBe(2);
    expect(a.qualityEma).toBeCloseTo(0.3 * 0.5 + 0.7 * 0.8, 15); // 0.71
    expect(a.lastRecalledAt).toBe(NOW);
    for (let i = 0; i < 10; i++) a = nextAccess(a, 1, NOW);
    expect(a.recallCount).toBe(6);
    expect(a.qualityEma).toBeCloseTo(1 - 0.29 * 0.7 ** 10, 12);
  });
});

describe('retention', () => {
  it('a memory never recalled, unknown subtype: S = 30, forgotten one second after 30·ln 20 days', () => {
    const edge = crossing(30); // 89.87 days
    expect(edge / DAY).toBeCloseTo(89.8720, 4);
    const before = retention({ createdAt: at(edge - 1000).toISOString() }, undefined, { now: NOW });
    const after = retention({ createdAt: at(edge + 1000).toISOString() }, undefined, { now: NOW });
    expect(before.stability_days).toBe(30);
    expect(before.s0_used).toBe(30);
    expect(before.memory_subtype).toBeNull();
    expect(before.retention).toBeGreaterThan(0.05);
    expect(before.forget).toBe(false);
    expect(before.reason).toBeNull();
    expect(after.retention).toBeLessThan(0.05);
    expect(after.forget).toBe(true);
    expect(after.reason).toBe('low_retention');
    expect(after.recall_count).toBe(0);
    expect(after.quality_ema).toBe(0);
    expect(after.recall_strength).toBe(0);
  });

  it('uses the subtype base stability (case-insensitive) and 30 for anything unknown', () => {
    const created = at(10 * DAY).toISOString();
    const s0 = (subtype: unknown) => retention({ createdAt: created, memorySubtype: subtype }, undefined, { now: NOW }).s0_used;
    expect(s0('episodic')).toBe(14);
    expect(s0('SEMANTIC')).toBe(45);
    expect(s0(' procedural ')).toBe(90);
    expect(s0('emotional')).toBe(30);
    expect(s0(42)).toBe(30);
    expect(s0(undefined)).toBe(30);
    const r = retention({ createdAt: created, memorySubtype: 'Semantic' }, undefined, { now: NOW });
    expect(r.memory_subtype).toBe('semantic');
    expect(r.retention).toBeCloseTo(Math.exp(-10 / 45), 15);
  });

  it('recalls: strength = min(count, 6) × ema, S = s0 × 1.8^strength, age from the last recall', () => {
    const access: AccessRecord = { recallCount: 3, qualityEma: 0.8, lastRecalledAt: at(20 * DAY) };
    const r = retention({ createdAt: at(400 * DAY).toISOString(), memorySubtype: 'episodic' }, access, { now: NOW });
    expect(r.recall_strength).toBeCloseTo(2.4, 15);
    expect(r.stability_days).toBeCloseTo(14 * 1.8 ** 2.4, 12);
    expect(r.stability_days).toBeCloseTo(57.3828, 4);
    expect(r.age_days).toBe(20);
    expect(r.age_since_created_days).toBe(400);
    expect(r.retention).toBeCloseTo(Math.exp(-20 / (14 * 1.8 ** 2.4)), 15); 
    expect(r.retention).toBeCloseTo(0.70572, 5);
    expect(r.forget).toBe(false);
  });

  it('caps the count at 6 even if the log says more, and crosses 0.05 at S·ln 20 from the last recall', () => {
    const s = 90 * 1.8 ** 6; // procedural, count 6, ema 1: 3061.1 days
    const edge = crossing(s);
    const access = (msAgo: number): AccessRecord => ({ recallCount: 9, qualityEma: 1, lastRecalledAt: at(msAgo) });
    const memory = { createdAt: at(20_000 * DAY).toISOString(), memorySubtype: 'procedural' };
    const before = retention(memory, access(edge - 1000), { now: NOW });
    const after = retention(memory, access(edge + 1000), { now: NOW });
    expect(before.recall_count).toBe(6);
    expect(before.stability_days).toBeCloseTo(3061.1, 1);
    expect(before.retention).toBeGreaterThan(0.05);
    expect(before.forget).toBe(false);
    expect(after.retention).toBeLessThan(0.05);
    expect(after.forget).toBe(true);
  });

  it('reads missing, invalid and naive timestamps: unknown age is 3650 days, naive is UTC', () => {
    for (const createdAt of [undefined, null, '', 'yesterday', '2025-02-30T00:00:00', {}]) {
      const r = retention({ createdAt }, undefined, { now: NOW });
      expect(r.age_days).toBe(UNKNOWN_AGE_DAYS);
      expect(r.age_since_created_days).toBe(UNKNOWN_AGE_DAYS);
      expect(r.forget).toBe(true);
    }
    const naive = retention({ createdAt: '2026-02-19T12:00:00' }, undefined, { now: NOW });
    expect(naive.age_days).toBe(10);
    const pacific = retention({ createdAt: '2026-02-19T04:00:00.000000-08:00' }, undefined, { now: NOW });
    expect(pacific.age_days).toBe(10);
    const epoch = retention({ createdAt: NOW.getTime() / 1000 - 5 * 86_400 }, undefined, { now: NOW });
    expect(epoch.age_days).toBe(5);
  });

  it('a timestamp in the future is age 0, not a negative age', () => {
    const r = retention({ createdAt: new Date(NOW.getTime() + DAY) }, undefined, { now: NOW });
    expect(r.age_days).toBe(0);
    expect(r.retention).toBe(1);
  });

  it('hard TTL: forgotten once older than ttl days since creation, even when freshly recalled', () => {
    const access: AccessRecord = { recallCount: 6, qualityEma: 1, lastRecalledAt: at(0) };
    const justOver = retention({ createdAt: at(30 * DAY + 1000).toISOString() }, access, { now: NOW, ttlDays: 30 });
    const justUnder = retention({ createdAt: at(30 * DAY - 1000).toISOString() }, access, { now: NOW, ttlDays: 30 });
    expect(justOver.ttl_expired).toBe(true);
    expect(justOver.forget).toBe(true);
    expect(justOver.reason).toBe('ttl_expired');
    expect(justOver.retention).toBe(1);
    expect(justUnder.ttl_expired).toBe(false);
    expect(justUnder.forget).toBe(false);
  });

  it('no hard TTL when it is empty, zero, negative or not a number', () => {
    const old = { createdAt: at(1000 * DAY).toISOString() };
    const access: AccessRecord = { recallCount: 6, qualityEma: 1, lastRecalledAt: at(0) };
    for (const ttlDays of [null, undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const r = retention(old, access, { now: NOW, ttlDays });
      expect(r.ttl_expired).toBe(false);
      expect(r.forget).toBe(false);
    }
  });
});

describe('parseTimestamp', () => {
  const t = Date.UTC(2025, 0, 15, 10, 0, 0);
  it('reads ISO with offsets, naive ISO as UTC, epoch seconds and milliseconds', () => {
    expect(parseTimestamp('2025-01-15T10:00:00Z')).toBe(t);
    expect(parseTimestamp('2025-01-15T10:00:00+00:00')).toBe(t);
    expect(parseTimestamp('2025-01-15T02:00:00-08:00')).toBe(t);
    expect(parseTimestamp('2025-01-15T19:00:00+0900')).toBe(t);
    expect(parseTimestamp('2025-01-15T10:00:00.250000+00:00')).toBe(t + 250);
    expect(parseTimestamp('2025-01-15T10:00:00')).toBe(t);
    expect(parseTimestamp('2025-01-15 10:00:00')).toBe(t);
    expect(parseTimestamp('2025-01-15')).toBe(Date.UTC(2025, 0, 15));
    expect(parseTimestamp(t / 1000)).toBe(t);
    expect(parseTimestamp(String(t / 1000))).toBe(t);
    expect(parseTimestamp(t)).toBe(t);
    expect(parseTimestamp(new Date(t))).toBe(t);
  });

  it('gives null for anything unreadable', () => {
    for (const v of [undefined, null, '', '  ', 'soon', '2025-13-01', '2025-02-29T00:00:00Z', '2025-01-15T24:00:00',
      Number.NaN, new Date(Number.NaN), true, []]) {
      expect(parseTimestamp(v)).toBeNull();
    }
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Tokyo';
      expect(parseTimestamp('2025-01-15T10:00:00')).toBe(t);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
