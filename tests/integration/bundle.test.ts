// The BUILT plugin (npm run build → dist/plugin.js with PGlite's assets), copied with the declarations into a
// temporary folder that has no node_modules anywhere above it, driven over stdio frames: validate the credentials,
// add a memory, search it, against the loopback fake OpenAI and the embedded database. Proves the bundle carries
// the engine, the store and mem0ai and works without the repository's node_modules.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { copyDeclarations, FrameCollector, REPO_ROOT, requestFrame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import type { Frame } from '../helpers/plugin-process.js';
import { credentials, DIMS, EMBEDDER_KEY, LLM_KEY, plainModel } from './app.js';

const ASSETS = ['plugin.js', 'pglite.wasm', 'pglite.data', 'initdb.wasm', 'vector.tar.gz', 'pglite-template.tar.gz'];

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let root: string;
let child: ChildProcessWithoutNullStreams;
const frames = new FrameCollector();
const badLines: string[] = [];
let stderr = '';

function send(frame: Frame): void {
  child.stdin.write(`${JSON.stringify(frame)}\n`);
}

function jsonOf(streams: unknown[]): { status: string; messages: string; results: unknown } {
  const json = streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: { status: string; messages: string; results: unknown } } } | undefined;
  if (!json) throw new Error(`no json message in ${JSON.stringify(streams).slice(0, 500)}`);
  return json.message.json_object;
}

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'pipe' });
  root = copyDeclarations('mem0-bundle-');
  for (const asset of ASSETS) copyFileSync(path.join(REPO_ROOT, 'dist', asset), path.join(root, asset));
  child = spawn(process.execPath, [path.join(root, 'plugin.js')], {
    cwd: root,
    env: { PATH: process.env.PATH, PLUGIN_ROOT: root, INSTALL_METHOD: 'local', LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The daemon's plugin storage, where the embedded store keeps the workspace's namespace.
  new FakePluginStorage().attach(frames, send);
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        frames.push(JSON.parse(line) as Frame);
      } catch {
        badLines.push(line.slice(0, 200));
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
  });
}, 180_000);

afterAll(async () => {
  child.stdin.end();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
});

describe('the built bundle from a folder without node_modules', () => {
  it('has no node_modules to fall back on', () => {
    for (let dir = root; dir !== path.dirname(dir); dir = path.dirname(dir)) expect(existsSync(path.join(dir, 'node_modules')), dir).toBe(false);
  });

  it('validates credentials, adds a memory and finds it again (sync mode, embedded database)', async () => {
    const creds = credentials(fake, { provider: 'pglite', config: { path: 'data/pglite', embedding_model_dims: DIMS } });
    let started = performance.now();
    send(requestFrame('validate', { action: 'validate_tool_credentials', provider: 'mem0ai', credentials: creds }));
    const validated = await frames.session('validate', 60_000);
    const validateMs = performance.now() - started;
    expect(validated.error).toBeNull();
    expect(validated.streams).toEqual([{ result: true }]);
    expect(fake.chatCalls()).toHaveLength(0);

    const invoke = (id: string, tool: string, parameters: Record<string, unknown>): Frame =>
      requestFrame(id, { action: 'invoke_tool', provider: 'mem0ai', tool, tool_parameters: parameters, credentials: creds, credential_type: 'api-key' });
    started = performance.now();
    send(invoke('add', 'add_memory', { user: 'I keep bees on my roof.', user_id: 'bundle-user', metadata: '{"topic": "hobby"}' }));
    const added = jsonOf((await frames.session('add', 60_000)).streams);
    const addMs = performance.now() - started;
    expect(added).toMatchObject({ status: 'SUCCESS', results: [{ memory: 'I keep bees on my roof.', event: 'ADD' }] });

    started = performance.now();
    send(invoke('search', 'search_memory', { query: 'bees', user_id: 'bundle-user' }));
    const found = jsonOf((await frames.session('search', 30_000)).streams);
    const searchMs = performance.now() - started;
    expect(found).toMatchObject({ status: 'SUCCESS', results: [{ memory: 'I keep bees on my roof.', metadata: { topic: 'hobby' } }] });

    send(invoke('bad', 'get_memory', { memory_id: 'not-a-uuid' }));
    expect(jsonOf((await frames.session('bad')).streams)).toMatchObject({ status: 'ERROR', messages: 'get_memory: memory_id must be a memory id (a UUID), got "not-a-uuid"' });

    expect(badLines).toEqual([]);
    // The log: stderr, and the `log` frames an installed plugin sends once its transport is up.
    const logFrames = JSON.stringify(frames.received.map((r) => r.frame).filter((f) => f.event === 'log'));
    for (const secret of [LLM_KEY, EMBEDDER_KEY]) {
      expect(stderr).not.toContain(secret);
      expect(logFrames).not.toContain(secret);
    }
    expect(existsSync(path.join(root, 'data', 'pglite'))).toBe(true);
    // For the report: the first call opens the embedded database; later ones reuse the cached engine.
    process.stderr.write(`[bundle] validate ${Math.round(validateMs)} ms, first add ${Math.round(addMs)} ms, search ${Math.round(searchMs)} ms\n`);
  }, 180_000);
});
