// The embedded database across plugin versions, with the BUILT bundle over stdio. The daemon runs each version in
// PLUGIN_WORKING_PATH/<author>/<name>-<version>@<checksum>; these tests lay out such folders side by side and check
// that the data lives beside them (mem0ai-data/), that an old ./data/pglite is moved there, that two processes never
// open it at once, and that a lock left by a dead process is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { invokeFrame, PluginProcess } from '../helpers/plugin-process.js';
import type { Frame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { credentials, DIMS, plainModel } from './app.js';

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let parent: string;
const running: PluginProcess[] = [];
/** One workspace, whose namespace survives the plugin's processes as the daemon's plugin storage does. */
const storage = new FakePluginStorage();

beforeAll(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), 'mem0-upgrade-'));
});

afterAll(async () => {
  for (const plugin of running) {
    plugin.closeStdin();
    await plugin.stop(15_000);
  }
  rmSync(parent, { recursive: true, force: true });
});

/** A version's working folder as the daemon names it. */
function versionFolder(version: string, checksum: string): string {
  const dir = path.join(parent, `mem0ai-${version}@${checksum}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function start(cwd: string, env: Record<string, string> = {}): PluginProcess {
  const plugin = new PluginProcess({ cwd, env, storage });
  running.push(plugin);
  return plugin;
}

async function stop(plugin: PluginProcess): Promise<void> {
  plugin.closeStdin();
  const exit = await plugin.stop(30_000);
  expect(exit.code).toBe(0);
  running.splice(running.indexOf(plugin), 1);
}

let calls = 0;
async function call(plugin: PluginProcess, tool: string, parameters: Record<string, unknown>, store: Record<string, unknown> = { provider: 'pglite', config: { embedding_model_dims: DIMS } }) {
  const id = `s${++calls}`;
  const frame = invokeFrame(id, tool, { timeout: 60, ...parameters });
  (frame.data as Record<string, unknown>).credentials = credentials(fake, store);
  plugin.send(frame as Frame);
  const result = await plugin.frames.session(id, 90_000);
  const json = result.streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: { status: string; messages: string; results: unknown } } } | undefined;
  if (!json) throw new Error(`no json answer: ${JSON.stringify(result).slice(0, 400)}; log: ${plugin.log.slice(-2000)}`);
  return json.message.json_object;
}

const memoriesOf = (answer: { results: unknown }) => (answer.results as { memory: string }[]).map((r) => r.memory).sort();
const DATA = () => path.join(parent, 'mem0ai-data', 'data', 'pglite');

describe('embedded data outside the versioned folder', () => {
  it('moves an old ./data/pglite beside the versions, and the next version finds every memory', async () => {
    // 0.1.0 kept its database inside its own folder (as versions before this change did).
    const v1 = versionFolder('0.1.0', 'aa11');
    const old = path.join(v1, 'data', 'pglite');
    const p1 = start(v1);
    const added = await call(p1, 'add_memory', { user: 'I keep bees on my roof.', user_id: 'alice' }, { provider: 'pglite', config: { path: old, embedding_model_dims: DIMS } });
    expect(added.status).toBe('SUCCESS');
    await stop(p1);
    expect(existsSync(path.join(old, 'PG_VERSION'))).toBe(true);

    // 0.2.0 with the default location: the old folder is moved (renamed) beside the versions.
    const v2 = versionFolder('0.2.0', 'bb22');
    const p2 = start(v2);
    expect(memoriesOf(await call(p2, 'get_all_memories', { user_id: 'alice' }))).toEqual(['I keep bees on my roof.']);
    expect(existsSync(path.join(DATA(), 'PG_VERSION'))).toBe(true);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(path.join(v2, 'data'))).toBe(false);
    expect((await call(p2, 'add_memory', { user: 'My cat is called Miso.', user_id: 'alice' })).status).toBe('SUCCESS');
    await stop(p2);

    // 0.3.0: a plain upgrade, same data.
    const v3 = versionFolder('0.3.0', 'cc33');
    const p3 = start(v3);
    expect(memoriesOf(await call(p3, 'get_all_memories', { user_id: 'alice' }))).toEqual(['I keep bees on my roof.', 'My cat is called Miso.']);
    await stop(p3);
    expect(existsSync(`${DATA()}.lock`)).toBe(false);
  }, 300_000);

  it('never overwrites data already in place with an older copy', async () => {
    // A stray old folder of another version appears after the move: it is left alone.
    const stray = path.join(versionFolder('0.0.9', 'dd44'), 'data', 'pglite');
    mkdirSync(stray, { recursive: true });
    writeFileSync(path.join(stray, 'PG_VERSION'), '17\n');
    const p = start(versionFolder('0.3.1', 'ee55'));
    expect(memoriesOf(await call(p, 'get_all_memories', { user_id: 'alice' }))).toEqual(['I keep bees on my roof.', 'My cat is called Miso.']);
    expect(existsSync(path.join(stray, 'PG_VERSION'))).toBe(true);
    await stop(p);
  }, 300_000);

  it('lets one process at a time open the data: the second gets a clear error, or waits for the first to stop', async () => {
    const first = start(versionFolder('0.4.0', 'ff66'));
    expect((await call(first, 'get_all_memories', { user_id: 'alice' })).status).toBe('SUCCESS');
    const lock = JSON.parse(readFileSync(`${DATA()}.lock`, 'utf8')) as { pid: number };
    expect(lock.pid).toBe(first.child.pid);

    const refused = start(versionFolder('0.4.1', 'ab77'), { MEM0_DATA_LOCK_WAIT_MS: '0' });
    const answer = await call(refused, 'get_all_memories', { user_id: 'alice' });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toContain(`in use by process ${first.child.pid}`);
    await stop(refused);

    // The first is unharmed, and writes still work.
    expect((await call(first, 'add_memory', { user: 'I moved to Lisbon.', user_id: 'alice' })).status).toBe('SUCCESS');

    // A waiting process gets the data once the first has stopped.
    const waiting = start(versionFolder('0.4.2', 'ab88'), { MEM0_DATA_LOCK_WAIT_MS: '120000' });
    const pending = call(waiting, 'get_all_memories', { user_id: 'alice' });
    expect(await waiting.logIncludes('waiting for the embedded database lock', 60_000)).toBe(true);
    await stop(first);
    expect(memoriesOf(await pending)).toEqual(['I keep bees on my roof.', 'I moved to Lisbon.', 'My cat is called Miso.']);
    await stop(waiting);
  }, 300_000);

  it('takes over the lock of a process that no longer runs', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    writeFileSync(`${DATA()}.lock`, JSON.stringify({ pid: deadPid, host: os.hostname(), since: '2026-01-01T00:00:00.000Z', token: 'stale' }));
    const p = start(versionFolder('0.5.0', 'ab99'), { MEM0_DATA_LOCK_WAIT_MS: '0' });
    expect(memoriesOf(await call(p, 'get_all_memories', { user_id: 'alice' }))).toHaveLength(3);
    expect((JSON.parse(readFileSync(`${DATA()}.lock`, 'utf8')) as { pid: number }).pid).toBe(p.child.pid);
    expect(await p.logIncludes('taking over the lock of a process that no longer runs')).toBe(true);
    await stop(p);
  }, 300_000);
});
