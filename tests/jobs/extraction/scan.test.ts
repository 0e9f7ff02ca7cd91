import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { advanceCheckpoint } from '../../../src/jobs/extraction/checkpoint.js';
import type { ConversationCheckpoint } from '../../../src/store/extraction-checkpoints.js';
import { DifyAuthError, DifyClient } from '../../../src/jobs/extraction/dify-client.js';
import type { DifyConversation } from '../../../src/jobs/extraction/dify-client.js';
import { ConversationScan, readNewMessages, resumeWindow } from '../../../src/jobs/extraction/scan.js';
import { extractionWindow } from '../../../src/jobs/extraction/window.js';
import { sampleTurns } from '../../helpers/fake-dify.js';
import type { FakeDify } from '../../helpers/fake-dify.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';

const KEY = 'app-scanKEY-1';
const APP = 'app-scan';
const HOUR = 3600;
const DAY = 86_400;
// Fixed clock: 2026-03-10 12:00 in Shanghai; window [03-09 00:00, 03-10 00:00) local.
const clock = () => new Date('2026-03-10T04:00:00Z');
const window1 = extractionWindow(1, { timeZone: 'Asia/Shanghai', now: clock });
const window3 = extractionWindow(3, { timeZone: 'Asia/Shanghai', now: clock });

const dify = useFakeDify();
const client = () => new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY, backoffBaseMs: 1, backoffMaxMs: 5 });

async function collect(scan: ConversationScan): Promise<DifyConversation[]> {
  const out: DifyConversation[] = [];
  for await (const c of scan) out.push(c);
  return out;
}

beforeAll(() => {
  dify.addApp(APP, KEY);
  // "busy": 480 conversations, one every 3 hours going back 60 days: 8 inside the one-day window.
  for (let i = 0; i < 480; i++) {
    dify.addConversation(APP, 'busy', { start: window1.endSec + 2 * HOUR - (i + 1) * 3 * HOUR, step: 30, turns: sampleTurns(i % 2 ? 'zh' : 'en', 2) });
  }
  // "many": 277 conversations inside the window (one every 5 minutes from 23:00 back to 00:00), 73 older.
  for (let i = 0; i < 350; i++) {
    dify.addConversation(APP, 'many', { start: window1.endSec - 3600 - i * 300, step: 10, turns: sampleTurns('en', 1) });
  }
});
beforeEach(() => dify.resetCalls());

describe('ConversationScan', () => {
  it('stops paging at the first conversation updated before the window', async () => {
    const scan = new ConversationScan(client(), { user: 'busy', window: window1, limit: 500 });
    const got = await collect(scan);
    // 03-09 00:00–24:00 local: conversations updated at 22:00 − 3h·k + 30 s that fall inside the window.
    expect(got.every((c) => c.updated_at >= window1.startSec && c.created_at < window1.endSec)).toBe(true);
    expect(got).toHaveLength(8);
    expect(scan.stats).toMatchObject({ pages: 1, stoppedBy: 'window' });
    // One call, where reading the whole history (480 conversations) would take five.
    expect(dify.countCalls('/conversations')).toBe(1);
    expect(scan.nextCursor()).toBeNull();
  });

  it('skips conversations that started after the window closed', async () => {
    const today = dify.addConversation(APP, 'busy', { start: window1.endSec + HOUR, turns: sampleTurns('en', 2) });
    const scan = new ConversationScan(client(), { user: 'busy', window: window1, limit: 500 });
    const got = await collect(scan);
    expect(got.map((c) => c.id)).not.toContain(today.id);
    expect(got).toHaveLength(8);
    expect(scan.stats.seen).toBe(10); // today's + 8 in the window + the first one before it
  });

  it('pages with last_id through a window larger than one page', async () => {
    const scan = new ConversationScan(client(), { user: 'many', window: window1, limit: 500 });
    const got = await collect(scan);
    expect(got).toHaveLength(277);
    expect(new Set(got.map((c) => c.id)).size).toBe(277);
    expect(scan.stats).toMatchObject({ pages: 3, stoppedBy: 'window' });
    expect(dify.calls.map((c) => c.query.last_id ?? null)).toEqual([null, got[99]!.id, got[199]!.id]);
  });

  it('stops at conversations_limit with a cursor, and a later scan continues exactly there', async () => {
    const seen: string[] = [];
    let cursor = null;
    let runs = 0;
    do {
      const scan: ConversationScan = new ConversationScan(client(), { user: 'many', window: resumeWindow(cursor, window1), limit: 100, resume: cursor });
      const got = await collect(scan);
      seen.push(...got.map((c) => c.id));
      cursor = scan.nextCursor();
      runs += 1;
      if (runs < 3) expect(scan.stats.stoppedBy).toBe('limit');
    } while (cursor && runs < 10);
    expect(runs).toBe(3);
    expect(seen).toHaveLength(277);
    expect(new Set(seen).size).toBe(277);
  });

  it('passes over skipped conversations without counting them against the limit', async () => {
    const all = await collect(new ConversationScan(client(), { user: 'many', window: window1, limit: 500 }));
    const done = new Set(all.slice(0, 50).map((c) => c.id));
    const scan = new ConversationScan(client(), { user: 'many', window: window1, limit: 20, skip: (c) => done.has(c.id) });
    const got = await collect(scan);
    expect(got.map((c) => c.id)).toEqual(all.slice(50, 70).map((c) => c.id));
    expect(scan.stats).toMatchObject({ skipped: 50, yielded: 20, stoppedBy: 'limit' });
    expect(scan.nextCursor()).toMatchObject({ conversation_id: all[69]!.id });
  });

  it('keeps the interrupted window when resuming on a later day', () => {
    const cursor = { conversation_id: 'x', window_start: window1.startSec, window_end: window1.endSec };
    const tomorrow = { startSec: window1.startSec + DAY, endSec: window1.endSec + DAY };
    expect(resumeWindow(cursor, tomorrow)).toEqual({ startSec: window1.startSec, endSec: window1.endSec + DAY });
    expect(resumeWindow(null, tomorrow)).toBe(tomorrow);
  });

  it('restarts from the newest when the cursor conversation was deleted', async () => {
    const gone = dify.addConversation(APP, 'many', { start: window1.startSec + 10, turns: sampleTurns('en', 1) });
    dify.deleteConversation(APP, gone.id);
    const scan = new ConversationScan(client(), {
      user: 'many',
      window: window1,
      limit: 5,
      resume: { conversation_id: gone.id, window_start: window1.startSec, window_end: window1.endSec },
    });
    const got = await collect(scan);
    expect(got).toHaveLength(5);
    expect(scan.stats.resumeLost).toBe(true);
    expect(dify.calls.map((c) => c.status)).toEqual([404, 200]);
  });

  it('rides through transient 500s', async () => {
    dify.inject({ kind: 'status', status: 500, path: '/conversations' }, { kind: 'status', status: 503, path: '/conversations' });
    const c = client();
    const got = await collect(new ConversationScan(c, { user: 'busy', window: window1, limit: 500 }));
    expect(got).toHaveLength(8);
    expect(c.stats()).toMatchObject({ requests: 3, retries: 2 });
  });
});

describe('readNewMessages', () => {
  let long: ReturnType<FakeDify['addConversation']>;
  beforeAll(() => {
    // "heavy": one conversation with 3000 messages, one every 5 minutes over ~10.4 days up to 02:00 today (local).
    long = dify.addConversation(APP, 'heavy', {
      start: window1.endSec + 2 * HOUR - 2999 * 300,
      step: 300,
      turns: sampleTurns('zh', 3000),
    });
  });
  const inWindow = (w: { startSec: number; endSec: number }) => long.messages.filter((m) => m.created_at >= w.startSec && m.created_at < w.endSec);

  it('pages back only as far as the window, returning its messages in order', async () => {
    const result = await readNewMessages(client(), { user: 'heavy', conversation: long, window: window1 });
    expect(result.messages.map((m) => m.id)).toEqual(inWindow(window1).map((m) => m.id));
    expect(result.messages).toHaveLength(288); // 24 h of one message every 5 minutes
    // 24 messages after the window + 288 inside = 312 → 4 pages of 100, instead of 30 for the whole history.
    expect(result.pages).toBe(4);
    expect(dify.countCalls('/messages')).toBe(4);
  });

  it('makes no call when the checkpoint covers the window', async () => {
    const cp = advanceCheckpoint(null, window1, inWindow(window1));
    const result = await readNewMessages(client(), { user: 'heavy', conversation: long, window: window1, checkpoint: cp });
    expect(result).toMatchObject({ skipped: true, pages: 0, messages: [] });
    expect(dify.countCalls()).toBe(0);
  });

  it('with a grown window, returns only the older part and no message twice', async () => {
    const cp: ConversationCheckpoint = advanceCheckpoint(null, window1, inWindow(window1));
    const result = await readNewMessages(client(), { user: 'heavy', conversation: long, window: window3, checkpoint: cp });
    const older = long.messages.filter((m) => m.created_at >= window3.startSec && m.created_at < window1.startSec);
    expect(result.messages.map((m) => m.id)).toEqual(older.map((m) => m.id));
    expect(result.messages).toHaveLength(576);
  });

  it('the next day reads only the new day, stopping once past it', async () => {
    const own = dify.addConversation(APP, 'heavy', { start: long.created_at, step: 300, turns: sampleTurns('zh', 3000) });
    const cp = advanceCheckpoint(null, window1, own.messages.filter((m) => m.created_at >= window1.startSec && m.created_at < window1.endSec));
    const tomorrow = extractionWindow(1, { timeZone: 'Asia/Shanghai', now: () => new Date(clock().getTime() + DAY * 1000) });
    // Add the rest of "today" (local 02:00 → 24:00) plus one message after it.
    const added = dify.appendMessages(own, { start: window1.endSec + 2 * HOUR + 300, step: 300, turns: sampleTurns('en', 264) });
    dify.resetCalls();
    const result = await readNewMessages(client(), { user: 'heavy', conversation: own, window: tomorrow, checkpoint: cp });
    const expected = own.messages.filter((m) => m.created_at >= tomorrow.startSec && m.created_at < tomorrow.endSec);
    expect(result.messages.map((m) => m.id)).toEqual(expected.map((m) => m.id));
    expect(result.messages.length).toBe(288);
    expect(added.at(-1)!.created_at).toBeGreaterThanOrEqual(tomorrow.endSec);
    expect(result.pages).toBe(3);
  });

  it('stops paging when the caller has enough', async () => {
    let fed = 0;
    const result = await readNewMessages(client(), {
      user: 'heavy',
      conversation: long,
      window: window3,
      enough: (newestFirst) => (fed += newestFirst.length) >= 150,
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.pages).toBe(2);
    // What was read is the newest part of the window, in order.
    const all = inWindow(window3);
    expect(result.messages.map((m) => m.id)).toEqual(all.slice(all.length - result.messages.length).map((m) => m.id));
  });

  it('fails the user with a clear auth error when the key is revoked mid-run', async () => {
    const key = 'app-revoked-midrun';
    dify.addApp(APP, key);
    const c = new DifyClient({ baseUrl: dify.baseUrl, apiKey: key, backoffBaseMs: 1 });
    const scan = new ConversationScan(c, { user: 'busy', window: window1, limit: 500 });
    dify.revokeKey(key, 2); // the scan page and one message page work, then 401
    let read = 0;
    const error = await (async () => {
      for await (const conversation of scan) {
        await readNewMessages(c, { user: 'busy', conversation, window: window1 });
        read += 1;
      }
    })().catch((e: unknown) => e);
    expect(read).toBe(1);
    expect(error).toBeInstanceOf(DifyAuthError);
    expect((error as Error).message).toMatch(/HTTP 401.*Access token is invalid.*check dify_api_key/);
    expect((error as Error).message).not.toContain(key);
    expect(c.stats().requests).toBe(3); // no retry of the 401
  });
});
