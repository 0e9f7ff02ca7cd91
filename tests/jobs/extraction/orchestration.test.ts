/**
 * The extraction orchestration end to end below the tools: task record, checkpoint table, leases and the worker pool
 * over the real MemoryService on PGlite (and PostgreSQL when TEST_DATABASE_URL is set), the fake Dify and the fake
 * OpenAI. Cases: first run, repeat run, new messages only, window grown backwards, limit cut + resume, budget
 * exhausted, lock held by another run, Chinese text, sync mode, overload.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { LeaseStore } from '../../../src/store/extraction-leases.js';
import { openExtraction } from '../../../src/jobs/extraction/service.js';
import { extractionTables } from '../../../src/store/extraction-tables.js';
import { EngineError } from '../../../src/shared/errors.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { hold } from '../../helpers/hold.js';
import { backends } from '../../store/backends.js';
import { DAY, makeWorld, MIDNIGHT, turns, until } from './orchestration-fixture.js';
import type { World } from './orchestration-fixture.js';

const dify = useFakeDify();
// Each world scripts the model anew; the reset before every test drops the last test's requests and answers.
const openai = useFakeModel({ dims: 8, resetEach: true });

describe.each(backends())('extraction orchestration on $name', (backend) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(backend, dify, openai);
    return () => w.close();
  });
  afterAll(() => backend.close());

  it('first run: ACCEPTED at once, users extracted, task completed with counters, checkpoint stored', async () => {
    for (let k = 0; k < 3; k++) dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 3600 * (k + 1), turns: turns(`ana c${k}`, 2) });
    dify.addConversation(w.app, 'ben', { start: MIDNIGHT - DAY + 600, turns: turns('ben c0', 3) });
    const o = w.orchestrator();
    const accepted = await o.start(w.request({ userIds: ['ana', 'ben', 'cy'], runId: 'trace-1' }));
    expect(accepted).toMatchObject({
      task_id: expect.stringMatching(/^extract_[0-9a-f]{12}$/), run_id: 'trace-1', user_count: 3,
      start_time: '2026-10-19T00:00:00Z', end_time: '2026-10-20T00:00:00Z', mode: 'async',
    });
    // The record exists from the moment of acceptance, with no trace of the key.
    const raw = await w.store.database.pool.query(`SELECT row_to_json(t)::text AS j FROM ${extractionTables(w.store.tables).tasks} t`);
    expect(raw.rows).toHaveLength(1);
    expect(raw.rows[0].j).not.toContain(w.key);

    // idle(): what an evicted credential set waits for before it closes.
    await o.idle();
    const status = await o.status(accepted.task_id);
    expect(status).toMatchObject({
      task_status: 'completed', progress: 1, user_count: 3, processed_users: 2, skipped_users: 1, failed_users: 0,
      scanned_conversations: 4, processed_conversations: 4, processed_messages: 9, written_memories: 9, error: null,
      start_time: '2026-10-19T00:00:00Z', end_time: '2026-10-20T00:00:00Z',
    });
    const report = status.final_report as { users: Array<{ user_id: string; status: string; reason: string }>; users_by_status: Record<string, number> };
    expect(report.users.map((u) => [u.user_id, u.status, u.reason])).toEqual([
      ['ana', 'SUCCESS', 'completed'], ['ben', 'SUCCESS', 'completed'], ['cy', 'SKIPPED', 'nothing_new'],
    ]);
    expect(report.users_by_status).toMatchObject({ SUCCESS: 2, SKIPPED: 1 });
    expect(await w.memories('ana')).toEqual(['ana c0 fact 0', 'ana c0 fact 1', 'ana c1 fact 0', 'ana c1 fact 1', 'ana c2 fact 0', 'ana c2 fact 1']);
    const checkpoint = await o.checkpoint('ana', w.app);
    expect(checkpoint).toMatchObject({ user_id: 'ana', app_id: w.app, conversations_count: 3, checkpoint: { resume_conversation_cursor: null } });
    // Saved after each conversation (the end state equals the last save, so no fourth write): version 3.
    expect(checkpoint.version).toBe(3);
    await expect(o.checkpoint('cy', w.app)).rejects.toMatchObject({ code: 'not_found' });
    await expect(o.status('extract_000000000000')).rejects.toMatchObject({ code: 'not_found' });
    // No lease is left behind.
    const leases = await w.store.database.pool.query(`SELECT 1 FROM ${extractionTables(w.store.tables).leases}`);
    expect(leases.rowCount).toBe(0);
  });

  it('repeat run the same day processes nothing new: no LLM call, one Dify call per user', async () => {
    for (let k = 0; k < 3; k++) dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 3600 * (k + 1), turns: turns(`ana c${k}`, 2) });
    const o = w.orchestrator();
    const first = await o.start(w.request(), { wait: true });
    expect(first).toMatchObject({ task_status: 'completed', processed_conversations: 3, mode: 'sync' });
    const llmBefore = w.llm.classifications;
    const second = await o.start(w.request(), { wait: true });
    expect(second).toMatchObject({ task_status: 'completed', processed_conversations: 0, scanned_conversations: 0, skipped_users: 1, dify_calls: 1 });
    expect(w.llm.classifications).toBe(llmBefore);
    expect(await w.memories('ana')).toHaveLength(6);
  });

  it('new messages only: the next day reads only what was added', async () => {
    const conv = dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 3600, turns: turns('old', 2) });
    const o = w.orchestrator();
    await o.start(w.request(), { wait: true });
    dify.appendMessages(conv, { start: MIDNIGHT + 3600, turns: turns('new', 2) });
    w.clock.advance(DAY * 1000);
    const next = await o.start(w.request(), { wait: true });
    expect(next).toMatchObject({ task_status: 'completed', processed_conversations: 1, processed_messages: 2 });
    expect(w.llm.extracted).toEqual(['old fact 0', 'old fact 1', 'new fact 0', 'new fact 1']);
  });

  it('window grown backwards reads only the older, uncovered days', async () => {
    dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 3600, turns: turns('yesterday', 1) });
    dify.addConversation(w.app, 'ana', { start: MIDNIGHT - 3 * DAY + 3600, turns: turns('three days ago', 1) });
    const o = w.orchestrator();
    await o.start(w.request({ daysBack: 1 }), { wait: true });
    expect(w.llm.extracted).toEqual(['yesterday fact 0']);
    const wider = await o.start(w.request({ daysBack: 3 }), { wait: true });
    expect(wider).toMatchObject({ start_time: '2026-10-17T00:00:00Z', processed_conversations: 1 });
    expect(w.llm.extracted).toEqual(['yesterday fact 0', 'three days ago fact 0']);
  });

  it('limit cut + resume: PARTIAL_SUCCESS with a stored cursor, the next run continues there', async () => {
    for (let k = 0; k < 14; k++) dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 600 * (k + 1), turns: turns(`c${k}`, 1) });
    const o = w.orchestrator();
    const first = await o.start(w.request({ conversationsLimit: 10 }), { wait: true });
    expect(first).toMatchObject({ processed_users: 1, processed_conversations: 10 });
    expect((first.final_report as { users: Array<{ status: string; reason: string }> }).users[0]).toMatchObject({ status: 'PARTIAL_SUCCESS', reason: 'conversations_limit' });
    const cp = await o.checkpoint('ana', w.app);
    expect(cp.checkpoint).toMatchObject({ resume_conversation_cursor: expect.any(String), resume_start_time: '2026-10-19T00:00:00.000Z', resume_end_time: '2026-10-20T00:00:00.000Z' });
    const second = await o.start(w.request({ conversationsLimit: 10 }), { wait: true });
    expect(second).toMatchObject({ processed_conversations: 4 });
    expect((await o.checkpoint('ana', w.app)).checkpoint).toMatchObject({ resume_conversation_cursor: null });
    expect(new Set(w.llm.extracted).size).toBe(14);
    expect(w.llm.extracted).toHaveLength(14);
  });

  it('budget exhausted: checked between conversations and before each user; the rest resumes later', async () => {
    for (let k = 0; k < 5; k++) dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 600 * (k + 1), turns: turns(`ana c${k}`, 1) });
    dify.addConversation(w.app, 'ben', { start: MIDNIGHT - DAY + 600, turns: turns('ben c0', 1) });
    // Every classification takes "two minutes" of the five-minute budget.
    w.llm.onClassify = () => {
      w.clock.advance(120_000);
      return undefined;
    };
    const o = w.orchestrator({ concurrency: 1 });
    const done = await o.start(w.request({ userIds: ['ana', 'ben'], timeBudgetMinutes: 5 }), { wait: true });
    const users = (done.final_report as { users: Array<{ user_id: string; status: string; reason: string; processed_conversations: number }> }).users;
    expect(users).toEqual([
      expect.objectContaining({ user_id: 'ana', status: 'PARTIAL_SUCCESS', reason: 'time_budget', processed_conversations: 3 }),
      expect.objectContaining({ user_id: 'ben', status: 'SKIPPED', reason: 'time_budget' }),
    ]);
    expect(done).toMatchObject({ task_status: 'completed', processed_users: 1, skipped_users: 1 });
    expect((done.final_report as { time_budget_exhausted: boolean }).time_budget_exhausted).toBe(true);
    w.llm.onClassify = undefined;
    const rest = await o.start(w.request({ userIds: ['ana', 'ben'] }), { wait: true });
    expect(rest).toMatchObject({ processed_conversations: 3 });
    expect([...w.llm.extracted].sort()).toEqual(['ana c0 fact 0', 'ana c1 fact 0', 'ana c2 fact 0', 'ana c3 fact 0', 'ana c4 fact 0', 'ben c0 fact 0']);
  });

  it('lock held by another run: that user is SKIPPED (locked), the others run', async () => {
    dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 600, turns: turns('ana', 1) });
    dify.addConversation(w.app, 'ben', { start: MIDNIGHT - DAY + 600, turns: turns('ben', 1) });
    const other = new LeaseStore(w.store.database.pool, w.store.tables);
    const held = await other.acquire('ana', w.app, 'extract_othertask000', 60_000);
    expect(held).not.toBeNull();
    const o = w.orchestrator();
    const done = await o.start(w.request({ userIds: ['ana', 'ben'] }), { wait: true });
    const users = (done.final_report as { users: Array<{ user_id: string; status: string; reason: string; error: string }> }).users;
    expect(users[0]).toMatchObject({ user_id: 'ana', status: 'SKIPPED', reason: 'locked', error: expect.stringContaining('another extraction run') });
    expect(users[1]).toMatchObject({ user_id: 'ben', status: 'SUCCESS' });
    expect(w.llm.extracted).toEqual(['ben fact 0']);
    await other.release(held!);
    await o.start(w.request({ userIds: ['ana', 'ben'] }), { wait: true });
    expect(w.llm.extracted).toEqual(['ben fact 0', 'ana fact 0']);
  });

  it('sliding window: a slow user holds one slot while the others pass through the rest', async () => {
    for (const user of ['slow', 'a', 'b', 'c']) dify.addConversation(w.app, user, { start: MIDNIGHT - DAY + 600, turns: turns(user, 1) });
    // The slow user's model answer is held until the other three were extracted: with batches of two, b and c would
    // wait behind slow for good (and this test time out).
    const slowAnswer = hold();
    w.llm.onClassify = (_n, body) =>
      body.messages.at(-1)?.content.includes('user: slow') ? { after: slowAnswer.released, then: JSON.stringify({ type: 'SEMANTIC' }) } : undefined;
    void until(() => w.llm.extracted.length === 3, 60_000).then(() => slowAnswer.release(), () => {});
    try {
      const o = w.orchestrator({ concurrency: 2 });
      const done = await o.start(w.request({ userIds: ['slow', 'a', 'b', 'c'] }), { wait: true });
      const users = (done.final_report as { users: Array<{ user_id: string; status: string }> }).users;
      expect(users.map((u) => u.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
      // With the sliding window a, b and c all pass while slow still runs.
      expect(w.llm.extracted).toEqual(['a fact 0', 'b fact 0', 'c fact 0', 'slow fact 0']);
    } finally {
      slowAnswer.release();
    }
  });

  it('Chinese text stays Chinese from Dify to the stored memory', async () => {
    dify.addConversation(w.app, 'lin', {
      start: MIDNIGHT - DAY + 600,
      turns: [{ query: '我住在上海，每天早上喝乌龙茶。', answer: '好的，记住了。' }, { query: '我的女儿叫小雨，今年七岁。', answer: '明白。' }],
    });
    const o = w.orchestrator();
    await o.start(w.request({ userIds: ['lin'] }), { wait: true });
    expect(await w.memories('lin')).toEqual(['我住在上海，每天早上喝乌龙茶。', '我的女儿叫小雨，今年七岁。'].sort());
    expect(w.llm.focus[0]).toContain('(Chinese)');
    const memories = await w.service.getAll({ userId: 'lin', agentId: w.app });
    for (const m of memories) expect(m.metadata).toMatchObject({ memory_subtype: 'semantic', memory_origin: 'implicit' });
  });

  it('overload: refused with nothing stored or started', async () => {
    dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 600, turns: turns('ana', 1) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.llm.onClassify = () => ({ delayMs: 1, then: JSON.stringify({ type: 'SEMANTIC' }) });
    const o = w.orchestrator({ maxPendingUsers: 3 });
    const error = await o.start(w.request({ userIds: ['a', 'b', 'c', 'd'] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'overload' });
    expect(error).toBeInstanceOf(EngineError);
    const tasks = extractionTables(w.store.tables).tasks;
    expect((await w.store.database.pool.query(`SELECT 1 FROM ${tasks}`)).rowCount).toBe(0);
    // Two users pending (held in the pool by a slow tokenizer): two more would pass the limit of three.
    const slow = w.orchestrator({ maxPendingUsers: 3, tokenizer: async () => { await gate; return (await import('../../../src/jobs/extraction/tokens.js')).loadTokenizer(); } });
    const first = await slow.start(w.request({ userIds: ['ana', 'x'] }));
    expect(slow.pendingUsers).toBe(2);
    await expect(slow.start(w.request({ userIds: ['y', 'z'] }))).rejects.toMatchObject({ code: 'overload' });
    expect((await w.store.database.pool.query(`SELECT 1 FROM ${tasks}`)).rowCount).toBe(1);
    release();
    await slow.settled(first.task_id);
    expect(slow.pendingUsers).toBe(0);
    expect(await slow.status(first.task_id)).toMatchObject({ task_status: 'completed', processed_users: 1 });
  });

  it('the tools\' service: async answers the acceptance, sync the finished task; a bad Dify setting is a parameter error', async () => {
    dify.addConversation(w.app, 'ana', { start: MIDNIGHT - DAY + 600, turns: turns('ana', 1) });
    const engine = { store: w.store, providers: w.providers, service: w.service };
    const signal = new AbortController().signal;
    const asyncSide = openExtraction(engine, { asyncMode: true, orchestrator: { timeZone: 'UTC', now: w.clock.now } });
    const syncSide = openExtraction(engine, { asyncMode: false, orchestrator: { timeZone: 'UTC', now: w.clock.now } });
    try {
      const accepted = await asyncSide.service.start(w.request(), signal);
      expect(Object.keys(accepted).sort()).toEqual(['end_time', 'mode', 'run_id', 'start_time', 'task_id', 'user_count']);
      await asyncSide.orchestrator.settled(accepted.task_id);
      expect(await asyncSide.service.status(accepted.task_id, signal)).toMatchObject({ task_status: 'completed', processed_conversations: 1 });
      // The other side (another credential set on the same collection) sees the same task and checkpoint.
      expect(await syncSide.service.status(accepted.task_id, signal)).toMatchObject({ task_status: 'completed' });
      expect(await syncSide.service.checkpoint({ userId: 'ana' }, signal)).toMatchObject({ app_id: w.app, conversations_count: 1 });
      const finished = await syncSide.service.start(w.request({ userIds: ['ana', 'ben'] }), signal);
      expect(finished).toMatchObject({ mode: 'sync', task_status: 'completed', user_count: 2, skipped_users: 2 });
      const bad = await syncSide.service.start(w.request({ difyBaseUrl: 'http://127.0.0.1:1/api' }), signal).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(EngineError);
      expect(bad).toMatchObject({ code: 'invalid_params', field: 'dify' });
    } finally {
      await asyncSide.close();
      await syncSide.close();
    }
  });
});
