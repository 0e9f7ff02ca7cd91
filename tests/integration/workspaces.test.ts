// Workspaces kept apart on the embedded store, with the BUILT bundle over stdio and a fake daemon that answers the
// plugin's backwards `storage` calls from one key-value map per tenant (as the daemon's plugin storage does). The
// tenant of a session is the part of its id before the first "-". Both tenants use the same credentials, the same
// data directory and the same user id.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { invokeFrame, PluginProcess } from '../helpers/plugin-process.js';
import type { Frame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { credentials, DIMS, plainModel } from './app.js';

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let dir: string;
let plugin: PluginProcess;
const storage = new FakePluginStorage((sessionId) => sessionId.split('-')[0]!);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mem0-workspaces-'));
  plugin = new PluginProcess({ cwd: dir, storage });
});

afterAll(async () => {
  plugin.closeStdin();
  await plugin.stop(15_000);
  rmSync(dir, { recursive: true, force: true });
});

const store = () => ({ provider: 'pglite', config: { path: path.join(dir, 'db'), embedding_model_dims: DIMS } });
let calls = 0;

function send(tenant: string, tool: string, parameters: Record<string, unknown>): string {
  const id = `${tenant}-${++calls}`;
  const frame = invokeFrame(id, tool, { timeout: 60, ...parameters });
  (frame.data as Record<string, unknown>).credentials = credentials(fake, store());
  plugin.send(frame as Frame);
  return id;
}

async function answer(id: string) {
  const result = await plugin.frames.session(id, 90_000);
  const json = result.streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: { status: string; messages: string; results: unknown } } } | undefined;
  if (!json) throw new Error(`no json answer: ${JSON.stringify(result).slice(0, 400)}; stderr: ${plugin.stderr.slice(-2000)}`);
  return json.message.json_object;
}

const call = (tenant: string, tool: string, parameters: Record<string, unknown>) => answer(send(tenant, tool, parameters));
const memoriesOf = (a: { results: unknown }) => (a.results as { memory: string }[]).map((r) => r.memory).sort();

describe('two workspaces on the embedded store', () => {
  it('keep the same user id apart: nothing written by one is read, searched or deleted by the other', async () => {
    expect((await call('A', 'add_memory', { user: 'I drink green tea every morning.', user_id: 'alice' })).status).toBe('SUCCESS');
    expect((await call('B', 'add_memory', { user: 'I drink black coffee at night.', user_id: 'alice' })).status).toBe('SUCCESS');

    expect(memoriesOf(await call('A', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I drink green tea every morning.']);
    expect(memoriesOf(await call('B', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I drink black coffee at night.']);
    expect(memoriesOf(await call('B', 'search_memory', { query: 'what do I drink', user_id: 'alice' }))).toEqual(['I drink black coffee at night.']);

    // A memory id of one workspace is unknown to the other.
    const aId = (((await call('A', 'get_all_memories', { user_id: 'alice' })).results as { id: string }[])[0]!).id;
    expect((await call('B', 'get_memory', { memory_id: aId })).status).toBe('NOT_FOUND');
    expect((await call('B', 'delete_all_memories', { user_id: 'alice' })).status).toBe('SUCCESS');
    expect(memoriesOf(await call('A', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I drink green tea every morning.']);

    // Each workspace has its own namespace in its own plugin storage; the first one owns the plain collection names.
    const nsA = storage.keysOf('A').get('mem0_workspace_namespace')?.toString();
    const nsB = storage.keysOf('B').get('mem0_workspace_namespace')?.toString();
    expect(nsA).toMatch(/^[0-9a-f]{12}$/);
    expect(nsB).toMatch(/^[0-9a-f]{12}$/);
    expect(nsA).not.toBe(nsB);
    expect(readFileSync(`${path.join(dir, 'db')}.shared-owner`, 'utf8').trim()).toBe(nsA);
  }, 300_000);

  it('routes answers that come back out of order to the call that asked', async () => {
    // Tenant C's storage answers are held until tenant D's whole call has finished.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    storage.policy = (c) => (c.tenant === 'C' ? { do: 'answer', after: held } : { do: 'answer' });
    const first = send('C', 'add_memory', { user: 'I grow tomatoes on my balcony.', user_id: 'alice' });
    const second = send('D', 'add_memory', { user: 'I collect vinyl records.', user_id: 'alice' });
    expect((await answer(second)).status).toBe('SUCCESS');
    release();
    expect((await answer(first)).status).toBe('SUCCESS');
    storage.policy = () => ({ do: 'answer' });
    expect(memoriesOf(await call('C', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I grow tomatoes on my balcony.']);
    expect(memoriesOf(await call('D', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I collect vinyl records.']);
  }, 300_000);

  it('answers ERROR naming plugin storage when the daemon answers the storage call with an error', async () => {
    storage.policy = (c) => (c.tenant === 'E' ? { do: 'error', reason: 'permission denied, you need to enable storage access in plugin manifest' } : { do: 'answer' });
    const result = await call('E', 'get_all_memories', { user_id: 'alice' });
    storage.policy = () => ({ do: 'answer' });
    expect(result.status).toBe('ERROR');
    expect(result.messages).toContain('Dify plugin storage');
    expect(result.messages).toContain('permission denied, you need to enable storage access');
  }, 120_000);

  it('answers TIMEOUT within the call’s own timeout when the daemon never answers, and drops a late answer', async () => {
    storage.policy = (c) => (c.tenant === 'F' ? { do: 'drop' } : { do: 'answer' });
    const result = await call('F', 'get_all_memories', { user_id: 'alice', timeout: 2 });
    expect(result.status).toBe('TIMEOUT');
    // The answer arrives after the call gave up: dropped, and the plugin keeps serving.
    const late = storage.calls.filter((c) => c.tenant === 'F').at(-1)!;
    plugin.send({
      session_id: late.sessionId, conversation_id: null, message_id: null, app_id: null, endpoint_id: null, context: null,
      event: 'backwards_response', data: { backwards_request_id: late.requestId, event: 'response', message: 'struct', data: { data: '00' } },
    });
    storage.policy = () => ({ do: 'answer' });
    expect(memoriesOf(await call('A', 'get_all_memories', { user_id: 'alice' }))).toEqual(['I drink green tea every morning.']);
    expect(plugin.badLines).toEqual([]);
  }, 120_000);
});
