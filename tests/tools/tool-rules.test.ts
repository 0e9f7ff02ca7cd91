// Each tool's own rules, checked through the whole path (coercion → schema → handler) against recording services,
// so both what the service receives and what the workflow sees are asserted.
import { describe, expect, it } from 'vitest';
import { invoke, recordingServices } from './harness.js';
import { CREDENTIALS, UUID } from './fixtures.js';

async function call(tool: string, parameters: Record<string, unknown>, credentials: Record<string, unknown> = CREDENTIALS) {
  const recorder = recordingServices();
  const answer = await invoke(tool, parameters, { services: recorder.factory }, credentials);
  return { answer, call: recorder.calls[0] };
}

describe('memory_id', () => {
  it.each(['get_memory', 'update_memory', 'delete_memory', 'get_memory_history'])('%s requires a UUID', async (tool) => {
    const { answer, call: made } = await call(tool, { memory_id: 'mem-1', ...(tool === 'update_memory' ? { text: 'x' } : {}) });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toBe(`${tool}: memory_id must be a memory id (a UUID), got "mem-1"`);
    expect(made).toBeUndefined();
  });

  it('accepts any case and surrounding spaces, passing it on lower-case', async () => {
    const { answer, call: made } = await call('get_memory', { memory_id: `  ${UUID.toUpperCase()} ` });
    expect(answer.status).toBe('SUCCESS');
    expect(made?.input).toEqual({ memoryId: UUID, runId: undefined });
  });
});

describe('timeout', () => {
  it.each([
    [undefined, 15],
    ['', 15],
    [0, 15],
    ['abc', 15],
    ['7.5', 7.5],
    [30, 30],
    [600, 60],
  ])('%j → %j seconds', async (given, seconds) => {
    const { call: made } = await call('search_memory', { query: 'q', user_id: 'u', timeout: given });
    expect((made?.options as { timeoutSeconds: number }).timeoutSeconds).toBe(seconds);
  });

  it('a negative timeout is below the declared minimum 0: ERROR naming timeout', async () => {
    const { answer, call: made } = await call('search_memory', { query: 'q', user_id: 'u', timeout: -3 });
    expect(made).toBeUndefined();
    expect(answer).toMatchObject({ status: 'ERROR', messages: 'search_memory: timeout must be at least 0, got -3' });
  });
});

describe('metadata and filters', () => {
  it('parses a JSON object given as text', async () => {
    const { call: made } = await call('add_memory', { user: 'hi', user_id: 'u', metadata: '{"topic": "food"}' });
    expect(made?.input).toMatchObject({ metadata: { topic: 'food' } });
  });

  it('accepts the object itself (LLMs do that)', async () => {
    const { call: made } = await call('search_memory', { query: 'q', user_id: 'u', filters: { AND: [{ topic: 'food' }] } });
    expect(made?.input).toMatchObject({ filters: { AND: [{ topic: 'food' }] } });
  });

  it.each([
    ['{topic: food}', 'metadata must be valid JSON, got "{topic: food}"'],
    ['[1,2]', 'metadata must be a JSON object such as {"topic": "food"}, got [1,2]'],
    ['"text"', 'metadata must be a JSON object such as {"topic": "food"}, got "text"'],
  ])('rejects %j', async (given, message) => {
    const { answer } = await call('add_memory', { user: 'hi', user_id: 'u', metadata: given });
    expect(answer).toMatchObject({ status: 'ERROR', messages: `add_memory: ${message}`, results: [] });
  });

  it('treats {} and blank text as not given', async () => {
    const { call: made } = await call('get_all_memories', { user_id: 'u', filters: '{}' });
    expect(made?.input).toMatchObject({ filters: undefined });
  });
});

describe('search and list', () => {
  it('search_memory: top_k defaults to 5, accepts "10", caps at 100, refuses 2.5', async () => {
    expect((await call('search_memory', { query: 'q', user_id: 'u' })).call?.input).toMatchObject({ topK: 5 });
    expect((await call('search_memory', { query: 'q', user_id: 'u', top_k: '10' })).call?.input).toMatchObject({ topK: 10 });
    expect((await call('search_memory', { query: 'q', user_id: 'u', top_k: 5000 })).call?.input).toMatchObject({ topK: 100 });
    const { answer } = await call('search_memory', { query: 'q', user_id: 'u', top_k: 2.5 });
    expect(answer.messages).toBe('search_memory: top_k must be a whole number, got 2.5');
  });

  it('search_memory answers SUCCESS with the hits and a line per hit', async () => {
    const { answer, call: made } = await call('search_memory', { query: 'drinks', user_id: ' alex ', agent_id: '', run_id: 'run-9' });
    expect(made?.input).toEqual({ scope: { userId: 'alex', agentId: undefined, runId: 'run-9' }, query: 'drinks', filters: undefined, topK: 5 });
    expect(answer.status).toBe('SUCCESS');
    expect(answer.messages).toBe('search_memory: memories found: 1');
    expect(answer.text).toBe('search_memory: memories found: 1\n1. likes tea (0.91)');
    expect(answer.variables.results).toEqual(answer.results);
  });

  it('get_all_memories: limit defaults to 100', async () => {
    expect((await call('get_all_memories', { user_id: 'u' })).call?.input).toMatchObject({ limit: 100 });
  });

  it('a query of only spaces counts as missing', async () => {
    const { answer } = await call('search_memory', { query: '   ', user_id: 'u' });
    expect(answer.messages).toBe('search_memory: query is required');
  });

  it('ids longer than 255 characters are refused', async () => {
    const { answer } = await call('delete_all_memories', { user_id: 'x'.repeat(256) });
    expect(answer.messages).toBe('delete_all_memories: user_id must be at most 255 characters');
  });
});

describe('extract_long_term_memory', () => {
  const base = { user_ids: 'a', app_id: 'app', dify_base_url: 'https://dify.example.com/v1', dify_api_key: 'app-SECRET-value' };

  it.each([
    ['alice, bob ,alice', ['alice', 'bob']],
    ['["alice", "bob"]', ['alice', 'bob']],
    ['[1, 2]', ['1', '2']],
    ['alice，bob；carol\ndave', ['alice', 'bob', 'carol', 'dave']],
  ])('user_ids %j → %j', async (given, expected) => {
    const { call: made } = await call('extract_long_term_memory', { ...base, user_ids: given });
    expect(made?.input).toMatchObject({ userIds: expected });
  });

  it.each([',,,', '[]', '{"a": 1}', '[{"id": 1}]', '["a",'])('user_ids %j is refused', async (given) => {
    const { answer } = await call('extract_long_term_memory', { ...base, user_ids: given });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(/^extract_long_term_memory: user_ids must /);
  });

  it('below the minimum (days_back 1–7, conversations_limit 10–500, max_tokens_per_conversation 1–200, time_budget 5–1440) is an ERROR naming each', async () => {
    const low = await call('extract_long_term_memory', { ...base, days_back: 0, conversations_limit: 1, max_tokens_per_conversation: 0, time_budget: 1 });
    expect(low.call).toBeUndefined();
    expect(low.answer.status).toBe('ERROR');
    expect(low.answer.messages).toBe(
      'extract_long_term_memory: days_back must be at least 1, got 0; conversations_limit must be at least 10, got 1; ' +
        'max_tokens_per_conversation must be at least 1, got 0; time_budget must be at least 5, got 1',
    );
  });

  it('above the maximum is clamped and each clamp reported as a warning', async () => {
    const high = await call('extract_long_term_memory', { ...base, days_back: '30', conversations_limit: 9999, max_tokens_per_conversation: 1000 });
    expect(high.call?.input).toMatchObject({ daysBack: 7, conversationsLimit: 500, maxTokensPerConversationK: 200 });
    expect(high.answer.warnings).toEqual([
      'days_back 30 is above the maximum; 7 was used',
      'conversations_limit 9999 is above the maximum; 500 was used',
      'max_tokens_per_conversation 1000 is above the maximum; 200 was used',
    ]);
    const defaults = await call('extract_long_term_memory', base);
    expect(defaults.call?.input).toMatchObject({ daysBack: 1, conversationsLimit: 20, maxTokensPerConversationK: 64, timeBudgetMinutes: 60 });
  });

  it('answers ACCEPTED with the task', async () => {
    const { answer } = await call('extract_long_term_memory', base);
    expect(answer).toMatchObject({ status: 'ACCEPTED', results: { task_id: 'extract_0123456789ab' } });
    expect(answer.messages).toBe('extract_long_term_memory: extraction for 1 user(s) queued as task extract_0123456789ab');
  });

  it.each([
    ['https://dify.example.com/v1/', 'https://dify.example.com/v1'],
    ['http://localhost:5001/v1', 'http://localhost:5001/v1'],
  ])('dify_base_url %j is accepted as %j', async (given, expected) => {
    const { call: made } = await call('extract_long_term_memory', { ...base, dify_base_url: given });
    expect(made?.input).toMatchObject({ difyBaseUrl: expected });
  });

  it.each([
    ['https://dify.example.com', /must be the Dify Service API base ending in \/v1/],
    ['https://dify.example.com/v1/chat-messages', /ending in \/v1/],
    ['dify.example.com/v1', /must be an http\(s\) URL/],
    ['ftp://dify.example.com/v1', /must be an http\(s\) URL/],
    ['https://user:pw@dify.example.com/v1', /must not contain a user name or password/],
  ])('dify_base_url %j is refused', async (given, message) => {
    const { answer } = await call('extract_long_term_memory', { ...base, dify_base_url: given });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(message);
  });

  it('never repeats the API key, whatever goes wrong', async () => {
    const { answer } = await call('extract_long_term_memory', { ...base, dify_base_url: 'nope', days_back: 'x' });
    expect(JSON.stringify(answer.raw)).not.toContain('SECRET');
  });
});

describe('the rest', () => {
  it('forget_memories: dry_run defaults to false and takes boolean shapes', async () => {
    expect((await call('forget_memories', { user_id: 'u' })).call?.input).toEqual({ userId: 'u', appId: undefined, dryRun: false });
    const { answer, call: made } = await call('forget_memories', { user_id: 'u', dry_run: 'yes' });
    expect(made?.input).toMatchObject({ dryRun: true });
    expect(answer.messages).toBe('forget_memories: dry run: would forget 1 memories and keep 4');
  });

  it('check_extraction_status passes the task id and reports the state', async () => {
    const { answer, call: made } = await call('check_extraction_status', { task_id: ' extract_0123456789ab ' });
    expect(made?.input).toBe('extract_0123456789ab');
    expect(answer.messages).toBe('check_extraction_status: task extract_0123456789ab is running');
  });

  it('get_user_checkpoint and delete_all_memories report their counts', async () => {
    expect((await call('get_user_checkpoint', { user_id: 'u', app_id: 'a' })).answer.messages).toBe('get_user_checkpoint: checkpoint of u: 2 conversations processed');
    expect((await call('delete_all_memories', { user_id: 'u' })).answer.messages).toBe('delete_all_memories: memories deleted for u: 3');
  });

  it('update_memory requires text', async () => {
    const { answer } = await call('update_memory', { memory_id: UUID, text: '' });
    expect(answer.messages).toBe('update_memory: text is required');
  });
});

describe('text length caps (keep provider limits and the work per call bounded)', () => {
  it.each([
    ['add_memory', { user: 'x'.repeat(100_001), user_id: 'u' }, 'user must be at most 100000 characters'],
    ['add_memory', { user: 'hi', assistant: 'x'.repeat(100_001), user_id: 'u' }, 'assistant must be at most 100000 characters'],
    ['search_memory', { query: 'x'.repeat(10_001), user_id: 'u' }, 'query must be at most 10000 characters'],
    ['update_memory', { memory_id: UUID, text: 'x'.repeat(10_001) }, 'text must be at most 10000 characters'],
    ['get_all_memories', { user_id: 'u', filters: `{"a": "${'x'.repeat(100_000)}"}` }, 'filters must be at most 100000 characters'],
    ['extract_long_term_memory', { user_ids: 'a', app_id: 'b', dify_base_url: 'https://d.example/v1', dify_api_key: 'k'.repeat(4097) }, 'dify_api_key must be at most 4096 characters'],
  ])('%s refuses an over-long value without calling the service', async (tool, parameters, message) => {
    const { answer, call: made } = await call(tool, parameters);
    expect(answer).toMatchObject({ status: 'ERROR', messages: `${tool}: ${message}` });
    expect(made).toBeUndefined();
  });

  it('the longest accepted values pass', async () => {
    expect((await call('add_memory', { user: 'x'.repeat(100_000), user_id: 'u' })).answer.status).toBe('SUCCESS');
    expect((await call('search_memory', { query: 'x'.repeat(10_000), user_id: 'u' })).answer.status).toBe('SUCCESS');
  });
});

describe('add_memory with empty text', () => {
  it.each([[''], ['   '], ['\n\t']])('user %j (given, blank) is skipped: SUCCESS with one SKIP event, the service is not called', async (user) => {
    const { answer, call: made } = await call('add_memory', { user, user_id: 'u' });
    expect(answer).toMatchObject({ status: 'SUCCESS', results: [{ id: null, memory: '', event: 'SKIP' }] });
    expect(answer.messages).toBe('add_memory: nothing to remember: the message is empty');
    expect(made).toBeUndefined();
  });

  it('a missing user is still an error, and so is a blank user_id', async () => {
    expect((await call('add_memory', { user_id: 'u' })).answer.messages).toBe('add_memory: user is required');
    expect((await call('add_memory', { user: null, user_id: 'u' })).answer.messages).toBe('add_memory: user is required');
    expect((await call('add_memory', { user: '', user_id: ' ' })).answer).toMatchObject({ status: 'ERROR', messages: 'add_memory: user_id is required' });
  });

  it('a blank user with an assistant reply goes to the service', async () => {
    const { answer, call: made } = await call('add_memory', { user: '', assistant: 'Noted: you like tea', user_id: 'u' });
    expect(answer.status).toBe('SUCCESS');
    expect(made?.input).toMatchObject({ user: '', assistant: 'Noted: you like tea' });
  });
});
