// Bad input for every tool, through the real app on a real store: empty strings, 1 MB strings, wrong types, SQL
// fragments in filters, metadata keys and ids, unknown filter operators, another user's memory. Each call must
// answer a clear status with the tool's name, never throw, never hang, never echo a secret or the 1 MB value, and
// the data of other users must come out of it untouched.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { AppDriver, credentials, DIMS, EMBEDDER_KEY, LLM_KEY, plainModel } from './app.js';
import type { Answer } from './app.js';

const MB = 'x'.repeat(1024 * 1024);
const STATUSES = ['SUCCESS', 'ERROR', 'NOT_FOUND', 'TIMEOUT'];
const TOOLS = loadDeclarations().tools;
const WRONG_TYPES: unknown[] = [{ a: 1 }, [1, 2], true, 42, -1, 1e308, null, '\u0000', '🙂'.repeat(10)];

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let driver: AppDriver;
/** A loopback "Dify Service API" that refuses every key at once, so extraction runs end quickly. */
let dify: Server;
let difyUrl: string;
/** A memory of user "owner" that no other user's call may see or change. */
let owned: { id: string; memory: string };

function valid(tool: string): Record<string, unknown> {
  const table: Record<string, Record<string, unknown>> = {
    add_memory: { user: 'I like hiking.', user_id: 'someone' },
    search_memory: { query: 'hiking', user_id: 'someone' },
    get_all_memories: { user_id: 'someone' },
    get_memory: { memory_id: owned.id },
    update_memory: { memory_id: '00000000-0000-4000-8000-000000000001', text: 'likes pasta' },
    delete_memory: { memory_id: '00000000-0000-4000-8000-000000000001' },
    delete_all_memories: { user_id: 'someone' },
    get_memory_history: { memory_id: owned.id },
    extract_long_term_memory: { user_ids: 'a,b', app_id: 'app', dify_base_url: difyUrl, dify_api_key: 'app-KEY' },
    check_extraction_status: { task_id: 'extract_0123456789ab' },
    get_user_checkpoint: { user_id: 'someone' },
    forget_memories: { user_id: 'someone' },
  };
  return { ...table[tool]! };
}

/** Every answer, whatever went in: a known status, the tool's name, both messages, bounded size, no secret. */
function expectClear(tool: string, answer: Answer): void {
  expect(STATUSES).toContain(answer.status);
  expect(answer.messages.startsWith(`${tool}: `) || answer.messages.startsWith(`${tool}：`)).toBe(true);
  expect(answer.messages.length).toBeLessThan(600);
  const all = JSON.stringify(answer.raw);
  expect(all).not.toContain(LLM_KEY);
  expect(all).not.toContain(EMBEDDER_KEY);
  expect(all.length).toBeLessThan(64 * 1024);
}

async function ownerUntouched(): Promise<void> {
  expect(await driver.ok('get_memory', { memory_id: owned.id })).toMatchObject({ id: owned.id, memory: owned.memory });
  expect(await driver.ok('get_all_memories', { user_id: 'owner' })).toHaveLength(1);
}

beforeAll(async () => {
  dify = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"code": "unauthorized", "message": "Access token is invalid", "status": 401}');
  });
  await new Promise<void>((resolve) => dify.listen(0, '127.0.0.1', resolve));
  difyUrl = `http://127.0.0.1:${(dify.address() as AddressInfo).port}/v1`;
  driver = new AppDriver(credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }));
  const [event] = await driver.ok<Array<{ id: string; memory: string }>>('add_memory', { user: 'My bank is Acme Bank.', user_id: 'owner', metadata: '{"topic": "money"}' });
  owned = event!;
});
afterAll(async () => {
  await ownerUntouched();
  await driver.close();
  dify.close();
});

describe.each(TOOLS.map((t) => t.identity.name))('%s', (tool) => {
  const declaration = TOOLS.find((t) => t.identity.name === tool)!;
  const parameters = declaration.parameters ?? [];
  const stringParameters = parameters.filter((p) => p.type === 'string' || p.type === 'secret-input');

  it('every parameter an empty string: a clear ERROR naming a required one (or SKIP for add_memory)', async () => {
    const answer = await driver.call(tool, Object.fromEntries(parameters.map((p) => [p.name, ''])));
    expectClear(tool, answer);
    expect(answer.status).toBe('ERROR');
    // import_memories needs one of two parameters (file or url), so its message names both instead.
    expect(answer.messages).toMatch(tool === 'import_memories' ? /\bfile\b.*\burl\b|\burl\b.*\bfile\b/ : /is required/);
  });

  it.each(stringParameters.map((p) => p.name))('%s = 1 MB: refused as too long (or malformed) before any model sees it, without echoing it', async (name) => {
    const answer = await driver.call(tool, { ...valid(tool), [name]: MB });
    expectClear(tool, answer);
    expect(answer.status).toBe('ERROR');
    // Refused up front: neither the LLM nor the embedder was sent the megabyte (how fast is the benchmarks' business).
    expect(fake.requests.filter((r) => JSON.stringify(r.body).length > 500_000)).toHaveLength(0);
  });

  it.each(parameters.map((p) => p.name))('%s with wrong types: a clear status, never a throw', async (name) => {
    for (const wrong of WRONG_TYPES) {
      const answer = await driver.call(tool, { ...valid(tool), [name]: wrong });
      expectClear(tool, answer);
    }
  });
});

describe('ids of the wrong type', () => {
  it('a boolean, an object or a list as an id is an ERROR naming it, and nothing is filed under its text', async () => {
    for (const [wrong, text] of [[{ id: 'alex' }, '{"id":"alex"}'], [['alex'], '["alex"]'], [true, 'true']] as const) {
      const answer = await driver.call('add_memory', { user: 'I like kites.', user_id: wrong, infer: false });
      expect(answer.status).toBe('ERROR');
      expect(answer.messages).toContain('user_id');
      expect((await driver.ok<unknown[]>('get_all_memories', { user_id: text })).length).toBe(0);
      const search = await driver.call('search_memory', { query: 'kites', user_id: 'someone', agent_id: wrong });
      expect(search.status).toBe('ERROR');
      expect(search.messages).toContain('agent_id');
    }
    // A number is an id: 42 is the user "42".
    expect((await driver.ok<Array<{ event: string }>>('add_memory', { user: 'I like kites.', user_id: 42, infer: false }))[0]?.event).toBe('ADD');
    expect((await driver.ok<Array<{ memory: string }>>('get_all_memories', { user_id: '42' })).map((m) => m.memory)).toEqual(['I like kites.']);
  });
});

describe('SQL fragments and unknown operators', () => {
  const injections = [
    "x'; DROP TABLE mem0; --",
    "' OR '1'='1",
    'x") OR true --',
    '$1; SELECT pg_sleep(10)',
    "payload->>'user_id'",
  ];

  it.each(['search_memory', 'get_all_memories'])('%s: SQL in filter keys is refused naming the key; in values it only matches nothing', async (tool) => {
    for (const fragment of injections) {
      const base = tool === 'search_memory' ? { query: 'bank', user_id: 'owner' } : { user_id: 'owner' };
      const byKey = await driver.call(tool, { ...base, filters: JSON.stringify({ [fragment]: 'x' }) });
      expectClear(tool, byKey);
      expect(byKey).toMatchObject({ status: 'ERROR', results: [] });
      expect(byKey.messages).toMatch(/invalid filter key/);
      const byValue = await driver.call(tool, { ...base, filters: JSON.stringify({ topic: fragment }) });
      expect(byValue).toMatchObject({ status: 'SUCCESS', results: [] });
      const nested = await driver.call(tool, { ...base, filters: JSON.stringify({ OR: [{ topic: { in: [fragment] } }, { NOT: { topic: { ne: fragment } } }] }) });
      expect(nested).toMatchObject({ status: 'SUCCESS', results: [] });
    }
    // A real filter still matches: the filters went through parameters, not into the SQL text.
    const base = tool === 'search_memory' ? { query: 'bank', user_id: 'owner' } : { user_id: 'owner' };
    expect((await driver.ok<unknown[]>(tool, { ...base, filters: '{"topic": "money"}' })).length).toBe(1);
    await ownerUntouched();
  });

  it.each([
    [{ topic: { $regex: '.*' } }, /unknown filter operator "\$regex"/],
    [{ topic: { like: '%' } }, /unknown filter operator "like"/],
    [{ and: [{ topic: 'money' }] }, /logical operator 'and' must be written 'AND'/],
    [{ AND: 'topic' }, /AND/],
    [{ topic: { gt: { nested: 1 } } }, /gt/],
  ])('unknown or malformed filter %j → ERROR naming it', async (filters, message) => {
    for (const tool of ['search_memory', 'get_all_memories']) {
      const answer = await driver.call(tool, { query: 'bank', user_id: 'owner', filters: JSON.stringify(filters) });
      expectClear(tool, answer);
      expect(answer.status).toBe('ERROR');
      expect(answer.messages).toMatch(message);
    }
  });

  it('SQL in metadata keys is refused before any LLM call; in metadata values it is stored as plain text', async () => {
    fake.reset();
    plainModel(fake);
    for (const fragment of injections) {
      const answer = await driver.call('add_memory', { user: 'I like SQL.', user_id: 'meta', metadata: JSON.stringify({ [fragment]: 1 }) });
      expectClear('add_memory', answer);
      expect(answer).toMatchObject({ status: 'ERROR', results: [] });
      expect(answer.messages).toMatch(/metadata key .* is not allowed/);
    }
    expect(fake.chatCalls()).toHaveLength(0);
    const reserved = await driver.call('add_memory', { user: 'I like SQL.', user_id: 'meta', metadata: '{"user_id": "owner"}' });
    expect(reserved).toMatchObject({ status: 'ERROR', messages: "add_memory: invalid request: metadata key 'user_id' is reserved" });

    const stored = await driver.ok<Array<{ id: string }>>('add_memory', { user: 'I like SQL.', user_id: 'meta', metadata: JSON.stringify({ note: injections[0] }) });
    expect(await driver.ok('get_memory', { memory_id: stored[0]!.id })).toMatchObject({ metadata: { note: injections[0] } });
    const found = await driver.ok<unknown[]>('get_all_memories', { user_id: 'meta', filters: JSON.stringify({ note: injections[0] }) });
    expect(found).toHaveLength(1);
  });

  it('SQL and odd text in user_id / agent_id is just an id: its own scope, nobody else’s', async () => {
    for (const fragment of injections) {
      expect(await driver.ok('get_all_memories', { user_id: fragment })).toEqual([]);
      expect(await driver.ok('search_memory', { query: 'bank', user_id: fragment, agent_id: fragment })).toEqual([]);
      expect(await driver.call('delete_all_memories', { user_id: fragment })).toMatchObject({ status: 'SUCCESS', results: { deleted_count: 0 } });
    }
    const [event] = await driver.ok<Array<{ id: string }>>('add_memory', { user: 'I am tricky.', user_id: injections[1] });
    expect(await driver.ok<Array<{ id: string }>>('get_all_memories', { user_id: injections[1] })).toEqual([expect.objectContaining({ id: event!.id })]);
    await ownerUntouched();
  });
});

describe("another user's memory", () => {
  it('no user-scoped tool of another user sees, searches, filters to or deletes it', async () => {
    const other = 'intruder';
    expect(await driver.ok('get_all_memories', { user_id: other })).toEqual([]);
    expect(await driver.ok('search_memory', { query: owned.memory, user_id: other })).toEqual([]);
    expect(await driver.ok('search_memory', { query: owned.memory, user_id: other, filters: '{"topic": "money"}' })).toEqual([]);
    // Trying to reach it through the filter by the payload's own scope keys does not widen the scope.
    const widened = await driver.call('get_all_memories', { user_id: other, filters: '{"OR": [{"user_id": "owner"}, {"topic": "money"}]}' });
    expect(widened.results).toEqual([]);
    expect(await driver.call('delete_all_memories', { user_id: other })).toMatchObject({ status: 'SUCCESS', results: { deleted_count: 0 } });
    // The same user under another agent is another scope too.
    expect(await driver.ok('get_all_memories', { user_id: 'owner', agent_id: 'other-app' })).toEqual([]);
    // An add by the other user whose LLM answer tries to touch a handle it was never shown writes nothing wrong.
    fake.reset();
    fake.reply(JSON.stringify({ facts: ['My bank is Acme Bank.'] }));
    const added = await driver.ok<Array<{ event: string }>>('add_memory', { user: 'My bank is Acme Bank.', user_id: other });
    expect(added).toEqual([expect.objectContaining({ event: 'ADD' })]);
    await ownerUntouched();
  });
});
