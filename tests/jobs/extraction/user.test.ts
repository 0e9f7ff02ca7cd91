import { beforeAll, describe, expect, it } from 'vitest';
import type { ExtractionLlm } from '../../../src/jobs/extraction/classify.js';
import type { MemoryWriter } from '../../../src/jobs/extraction/conversation.js';
import { DifyClient } from '../../../src/jobs/extraction/dify-client.js';
import { loadTokenizer, tokenCap } from '../../../src/jobs/extraction/tokens.js';
import type { Tokenizer } from '../../../src/jobs/extraction/tokens.js';
import { extractUser, MAX_FAILURES_IN_A_ROW, storedCursor } from '../../../src/jobs/extraction/user.js';
import type { UserCheckpoint } from '../../../src/store/extraction-checkpoints.js';
import type { UserRunOptions } from '../../../src/jobs/extraction/user.js';
import { extractionWindow } from '../../../src/jobs/extraction/window.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';
import type { TurnText } from '../../helpers/fake-dify.js';

const APP = 'app-user';
const KEY = 'app-userKEY';
const DAY = 86_400;
const today = new Date('2026-10-20T10:00:00Z');
const clock = () => today;
const tz = 'America/New_York';
const daysBack = (n: number, now = clock) => extractionWindow(n, { timeZone: tz, now });

class Llm implements ExtractionLlm {
  calls = 0;
  failing = false;
  async completeJson(): Promise<string> {
    this.calls += 1;
    if (this.failing) throw new Error('LLM provider answered 503');
    return '{"type":"SEMANTIC"}';
  }
}

/** Records every turn that reaches the engine, to prove nothing is extracted twice. */
class Writer implements MemoryWriter {
  readonly texts: string[] = [];
  async add(input: Parameters<MemoryWriter['add']>[0]) {
    for (const t of input.messages) if (t.role === 'user') this.texts.push(t.content);
    return [{ event: 'ADD' }];
  }
}

/** Unique texts per conversation and message. */
const turns = (tag: string, n: number): TurnText[] =>
  Array.from({ length: n }, (_, i) => ({ query: `${tag} says fact ${i}`, answer: `noted ${i}` }));

const dify = useFakeDify();
let tokenizer: Tokenizer;
beforeAll(async () => {
  dify.addApp(APP, KEY);
  tokenizer = await loadTokenizer();
  // "ana": 2 conversations a day for the last 10 days, 4 messages each.
  const end = daysBack(1).endSec;
  for (let d = 1; d <= 10; d++) {
    for (let k = 0; k < 2; k++) dify.addConversation(APP, 'ana', { start: end - d * DAY + 3600 + k * 7200, turns: turns(`ana d${d} c${k}`, 4) });
  }
  // "ben": 30 conversations yesterday.
  for (let k = 0; k < 30; k++) dify.addConversation(APP, 'ben', { start: end - DAY + 600 + k * 1200, turns: turns(`ben c${k}`, 2) });
});

function setup(key = KEY) {
  const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: key, backoffBaseMs: 1, backoffMaxMs: 5, retries: 1 });
  const llm = new Llm();
  const memory = new Writer();
  return { client, llm, memory, deps: { dify: client, llm, memory, tokenizer } };
}

const base = (over: Partial<UserRunOptions>): UserRunOptions => ({
  user: 'ana',
  appId: APP,
  window: daysBack(1),
  conversationsLimit: 20,
  maxTokens: tokenCap(64),
  checkpoint: null,
  now: clock,
  ...over,
});

describe('extractUser', () => {
  it('processes the window, then finds nothing new the same day with one call', async () => {
    const { deps, client, memory } = setup();
    const first = await extractUser(deps, base({}));
    expect(first).toMatchObject({ status: 'SUCCESS', stop_reason: 'completed', error: null, scanned_conversations: 2, processed_conversations: 2, processed_messages: 8, written_memories: 2, kinds: { SEMANTIC: 2 } });
    expect(Object.keys(first.checkpoint.conversations)).toHaveLength(2);
    expect(first.checkpoint.resume_conversation_cursor).toBeNull();
    expect(memory.texts).toHaveLength(8);

    const before = client.stats().requests;
    const again = await extractUser(deps, base({ checkpoint: first.checkpoint }));
    expect(again).toMatchObject({ status: 'SKIPPED', stop_reason: 'nothing_new', scanned_conversations: 0 });
    expect(client.stats().requests - before).toBe(1);
  });

  it('never extracts a message twice as the window moves and grows over several runs', async () => {
    const { deps, memory } = setup();
    let checkpoint: UserCheckpoint | null = null;
    const runs: Array<[number, number]> = [[1, 0], [1, 0], [3, 0], [2, 1], [7, 1], [10, 2], [10, 2], [12, 2]]; // [days_back, days later]
    for (const [n, later] of runs) {
      const now = () => new Date(today.getTime() + later * DAY * 1000);
      const result = await extractUser(deps, base({ window: daysBack(n, now), checkpoint, now, conversationsLimit: 500 }));
      expect(['SUCCESS', 'SKIPPED']).toContain(result.status);
      checkpoint = result.checkpoint;
    }
    expect(new Set(memory.texts).size).toBe(memory.texts.length);
    // The last window reaches back to the first of the 10 days: 20 conversations × 4 messages, each once.
    expect(memory.texts).toHaveLength(80);
  });

  it('stops at conversations_limit with a cursor and the next run continues exactly there', async () => {
    const { deps, memory } = setup();
    const first = await extractUser(deps, base({ user: 'ben', conversationsLimit: 12 }));
    expect(first).toMatchObject({ status: 'PARTIAL_SUCCESS', stop_reason: 'conversations_limit', scanned_conversations: 12 });
    expect(first.checkpoint).toMatchObject({ resume_run_at: today.toISOString(), resume_start_time: daysBack(1).start.toISOString(), resume_end_time: daysBack(1).end.toISOString() });
    expect(storedCursor(first.checkpoint)).not.toBeNull();

    // The next day: the resumed run keeps yesterday's window for the rest.
    const tomorrow = () => new Date(today.getTime() + DAY * 1000);
    const second = await extractUser(deps, base({ user: 'ben', conversationsLimit: 12, checkpoint: first.checkpoint, window: daysBack(1, tomorrow), now: tomorrow }));
    expect(second).toMatchObject({ stop_reason: 'conversations_limit', scanned_conversations: 12 });
    const third = await extractUser(deps, base({ user: 'ben', conversationsLimit: 12, checkpoint: second.checkpoint, window: daysBack(1, tomorrow), now: tomorrow }));
    expect(third).toMatchObject({ status: 'SUCCESS', stop_reason: 'completed', scanned_conversations: 6 });
    expect(third.checkpoint.resume_conversation_cursor).toBeNull();
    expect(memory.texts).toHaveLength(60);
    expect(new Set(memory.texts).size).toBe(60);
  });

  it('fails the user, not the task, when the key is revoked mid-run, keeping the progress', async () => {
    const key = 'app-user-revoked';
    dify.addApp(APP, key);
    const { deps } = setup(key);
    dify.revokeKey(key, 4); // 1 conversation page + 3 message pages
    const result = await extractUser(deps, base({ user: 'ben', conversationsLimit: 100 }));
    expect(result).toMatchObject({ status: 'PARTIAL_SUCCESS', stop_reason: 'auth', scanned_conversations: 4, processed_conversations: 3 });
    expect(result.error).toMatch(/HTTP 401.*Access token is invalid/);
    expect(result.error).not.toContain(key);
    expect(Object.keys(result.checkpoint.conversations)).toHaveLength(3);
    expect(result.checkpoint.resume_conversation_cursor).not.toBeNull();

    const { deps: none } = setup('app-never-valid');
    const refused = await extractUser(none, base({ user: 'ben' }));
    expect(refused).toMatchObject({ status: 'ERROR', stop_reason: 'auth', scanned_conversations: 0 });
    expect(refused.checkpoint.conversations).toEqual({});
  });

  it('counts a conversation deleted between listing and reading as failed and goes on', async () => {
    const user = 'cleo';
    const end = daysBack(1).endSec;
    const made = [0, 1, 2].map((k) => dify.addConversation(APP, user, { start: end - DAY + 3600 * (k + 1), turns: turns(`cleo c${k}`, 2) }));
    const { deps, client } = setup();
    // Delete the middle one right after the scan listed it.
    const original = client.listConversations.bind(client);
    client.listConversations = async (params, signal) => {
      const page = await original(params, signal);
      dify.deleteConversation(APP, made[1]!.id);
      return page;
    };
    const result = await extractUser(deps, base({ user }));
    expect(result).toMatchObject({ status: 'PARTIAL_SUCCESS', stop_reason: 'completed', scanned_conversations: 3, processed_conversations: 2, failed_conversations: 1 });
    expect(result.error).toMatch(new RegExp(`conversation ${made[1]!.id}: DifyNotFoundError: .*Conversation Not Exists`));
    expect(result.checkpoint.conversations[made[1]!.id]).toBeUndefined();
  });

  it('stops after several failures in a row and resumes before them', async () => {
    const { deps, llm } = setup();
    llm.failing = true;
    const result = await extractUser(deps, base({ user: 'ben', conversationsLimit: 100 }));
    expect(result).toMatchObject({ status: 'ERROR', stop_reason: 'failures', failed_conversations: MAX_FAILURES_IN_A_ROW });
    expect(result.error).toMatch(/LLM provider answered 503/);
    expect(result.checkpoint.conversations).toEqual({});
    expect(llm.calls).toBe(MAX_FAILURES_IN_A_ROW);
    expect(result.checkpoint.resume_conversation_cursor).toBeNull();
  });

  it('stops starting conversations at the deadline and leaves a cursor', async () => {
    const { deps } = setup();
    let t = today.getTime();
    const ticking = () => new Date((t += 1000));
    const result = await extractUser(deps, base({ user: 'ben', conversationsLimit: 100, now: ticking, deadline: today.getTime() + 5500 }));
    expect(result).toMatchObject({ status: 'PARTIAL_SUCCESS', stop_reason: 'time_budget', scanned_conversations: 5 });
    expect(result.checkpoint.resume_conversation_cursor).not.toBeNull();
  });

  it('reports Dify failing after retries as upstream and keeps going for later users', async () => {
    const { deps } = setup();
    dify.inject({ kind: 'status', status: 500, path: '/conversations' }, { kind: 'status', status: 500, path: '/conversations' });
    const result = await extractUser(deps, base({}));
    expect(result).toMatchObject({ status: 'ERROR', stop_reason: 'upstream' });
    expect(result.error).toMatch(/HTTP 500/);
  });
});
