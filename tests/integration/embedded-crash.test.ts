// The embedded database when the plugin process dies without warning (kill -9: an OOM kill, a container stopped
// hard), with the BUILT bundle over stdio. What a person was told was written (SUCCESS) must be there after the
// restart, the database must open again, and the lock the dead process left behind must not keep the data shut —
// also when the new process happens to get the dead one's pid (containers restart with the same pids) or the pid now
// belongs to some other process.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const running: PluginProcess[] = [];
/** One workspace; its namespace outlives the processes as the daemon's plugin storage does. */
const storage = new FakePluginStorage();

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mem0-crash-'));
});

afterAll(() => {
  for (const plugin of running) plugin.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const DATA = () => path.join(dir, 'data', 'pglite');
const LOCK = () => `${DATA()}.lock`;

function start(env: Record<string, string> = {}): PluginProcess {
  const plugin = new PluginProcess({ cwd: dir, env, storage });
  running.push(plugin);
  return plugin;
}

async function kill9(plugin: PluginProcess): Promise<void> {
  plugin.child.kill('SIGKILL');
  expect((await plugin.exited).signal).toBe('SIGKILL');
  running.splice(running.indexOf(plugin), 1);
}

let calls = 0;
function send(plugin: PluginProcess, tool: string, parameters: Record<string, unknown>): string {
  const id = `s${++calls}`;
  const frame = invokeFrame(id, tool, { timeout: 60, ...parameters });
  (frame.data as Record<string, unknown>).credentials = credentials(fake, { provider: 'pglite', config: { embedding_model_dims: DIMS } });
  plugin.send(frame as Frame);
  return id;
}

async function answer(plugin: PluginProcess, id: string) {
  const result = await plugin.frames.session(id, 90_000);
  const json = result.streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: { status: string; messages: string; results: unknown } } } | undefined;
  if (!json) throw new Error(`no json answer: ${JSON.stringify(result).slice(0, 400)}; log: ${plugin.log.slice(-2000)}`);
  return json.message.json_object;
}

const call = (plugin: PluginProcess, tool: string, parameters: Record<string, unknown>) => answer(plugin, send(plugin, tool, parameters));
const memoriesOf = (a: { results: unknown }) => (a.results as { memory: string }[]).map((r) => r.memory).sort();

describe('embedded data across a kill -9 of the plugin', () => {
  it('keeps every write answered SUCCESS, also one killed in the middle of a burst, and opens again', async () => {
    const first = start();
    const added = await call(first, 'add_memory', { user: 'I keep bees on my roof.', user_id: 'alice' });
    expect(added.status).toBe('SUCCESS');
    const beesId = (added.results as { id: string }[])[0]!.id;
    expect((await call(first, 'update_memory', { memory_id: beesId, text: 'I keep three hives on my roof.' })).status).toBe('SUCCESS');
    const doomed = ((await call(first, 'add_memory', { user: 'My locker code is 4711.', user_id: 'alice' })).results as { id: string }[])[0]!.id;
    expect((await call(first, 'delete_memory', { memory_id: doomed })).status).toBe('SUCCESS');

    // A burst of writes; the process is killed as soon as a few have been answered, the rest still in flight.
    const texts = Array.from({ length: 12 }, (_, i) => `Burst fact ${i}: I visited city number ${i * 13}.`);
    const ids = texts.map((text) => send(first, 'add_memory', { user: text, user_id: 'alice' }));
    const acknowledged: string[] = [];
    const watching = ids.map((id, i) =>
      answer(first, id)
        .then((a) => {
          if (a.status === 'SUCCESS') acknowledged.push(texts[i]!);
        })
        .catch(() => undefined),
    );
    void Promise.all(watching);
    const deadline = Date.now() + 120_000;
    while (acknowledged.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await kill9(first);
    const acked = [...acknowledged];
    expect(acked.length).toBeGreaterThan(0);

    const second = start({ MEM0_DATA_LOCK_WAIT_MS: '0' });
    const after = memoriesOf(await call(second, 'get_all_memories', { user_id: 'alice', limit: 100 }));
    expect(after).toEqual(expect.arrayContaining(['I keep three hives on my roof.', ...acked]));
    expect(after).not.toContain('My locker code is 4711.');
    // Nothing but what was sent: no half-written or duplicated rows.
    const allowed = new Set(['I keep three hives on my roof.', ...texts]);
    expect(after.filter((m) => !allowed.has(m))).toEqual([]);
    expect(new Set(after).size).toBe(after.length);
    const history = await call(second, 'get_memory_history', { memory_id: beesId });
    expect((history.results as { event: string }[]).map((h) => h.event)).toEqual(['ADD', 'UPDATE']);
    expect((await call(second, 'add_memory', { user: 'I moved to Porto.', user_id: 'alice' })).status).toBe('SUCCESS');
    expect(await second.logIncludes('taking over the lock of a process that no longer runs')).toBe(true);
    await kill9(second);
  }, 400_000);
});

describe('the lock a dead process left behind', () => {
  const staleLock = (holder: Record<string, unknown>) =>
    writeFileSync(LOCK(), JSON.stringify({ host: os.hostname(), since: '2026-01-01T00:00:00.000Z', token: 'left-behind', ...holder }));

  it('is taken over when the new process got the dead one’s pid (a container restarted)', async () => {
    const plugin = start({ MEM0_DATA_LOCK_WAIT_MS: '0' });
    staleLock({ pid: plugin.child.pid });
    const got = await call(plugin, 'get_all_memories', { user_id: 'alice', limit: 100 });
    expect(got.status, got.messages).toBe('SUCCESS');
    expect(memoriesOf(got)).toContain('I moved to Porto.');
    expect((JSON.parse(readFileSync(LOCK(), 'utf8')) as { token: string }).token).not.toBe('left-behind');
    await kill9(plugin);
  }, 300_000);

  it('is taken over when the dead one’s pid now belongs to another process (started at another time)', async () => {
    // This test runner is alive; the lock says its holder started at a moment this runner did not.
    staleLock({ pid: process.pid, started: 'boot-0000:1' });
    const plugin = start({ MEM0_DATA_LOCK_WAIT_MS: '0' });
    const got = await call(plugin, 'get_all_memories', { user_id: 'alice', limit: 100 });
    expect(got.status, got.messages).toBe('SUCCESS');
    expect((JSON.parse(readFileSync(LOCK(), 'utf8')) as { pid: number }).pid).toBe(plugin.child.pid);
    await kill9(plugin);
  }, 300_000);

  it('still keeps a second live process out', async () => {
    const holder = start();
    expect((await call(holder, 'get_all_memories', { user_id: 'alice' })).status).toBe('SUCCESS');
    const second = start({ MEM0_DATA_LOCK_WAIT_MS: '0' });
    const refused = await call(second, 'get_all_memories', { user_id: 'alice' });
    expect(refused.status).toBe('ERROR');
    expect(refused.messages).toContain(`in use by process ${holder.child.pid}`);
    await kill9(second);
    await kill9(holder);
  }, 300_000);
});
