/**
 * The real Dify plugin daemon for the end-to-end tests (tests/e2e/daemon*.test.ts): finding its binaries, starting,
 * restarting and stopping it through scripts/dify-daemon.sh, and calling its HTTP API the way Dify's API server does
 * (api/core/plugin/impl/{base,debugging,plugin,tool}.py in langgenius/dify): `X-Api-Key`, `X-Plugin-ID`, and answers
 * read as Dify reads them — a JSON body `{code, message, data}`, or for dispatch calls an event stream of
 * `data: {...}` lines, each parsed on its own.
 *
 * Where the daemon cannot run, `daemonUnavailable()` says why. In CI (CI=true) the tests must then FAIL with that
 * reason (a skipped e2e once hid a stale pin for weeks); elsewhere they skip with it.
 */
import { execFile, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import type { FakeOpenAI } from './fake-openai.js';
import { BUNDLE, REPO_ROOT } from './plugin-process.js';

export const DAEMON_SCRIPT = join(REPO_ROOT, 'scripts', 'dify-daemon.sh');
/** Dify sends the plugin as `<manifest author>/<name>` in X-Plugin-ID (remote debugging, from daemon #731 on). */
export const PLUGIN_ID = 'mem0-ts/mem0ai';
export const PROVIDER = 'mem0ai';
/** The tools the provider declares (provider/mem0ai.yaml → each tool's identity.name), sorted as the daemon lists them. */
export const TOOL_NAMES: string[] = (parse(readFileSync(join(REPO_ROOT, 'provider/mem0ai.yaml'), 'utf8')) as { tools: string[] }).tools
  .map((file) => (parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as { identity: { name: string } }).identity.name)
  .sort();

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function statusOf(file: string): string {
  const path = join(REPO_ROOT, '.cache', 'dify-daemon', file);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}

/** Why the daemon cannot run here (undefined: it can). `packaged` also needs the Python 3.12 + uv environment. */
export function daemonUnavailable(options: { packaged?: boolean } = {}): string | undefined {
  if (!process.env.TEST_DATABASE_URL) return 'TEST_DATABASE_URL not set (scripts/test-db.sh start)';
  if (!onPath('redis-server')) return 'redis-server not installed (scripts/install-system-deps.sh)';
  const { DIFY_DAEMON_BIN: server, DIFY_DAEMON_CLI: cli } = process.env;
  if (server || cli) {
    if (!(server && cli && existsSync(server) && existsSync(cli))) {
      return `DIFY_DAEMON_BIN/DIFY_DAEMON_CLI set but not both existing files (${server ?? '-'}, ${cli ?? '-'})`;
    }
  } else {
    const build = statusOf('build-status');
    if (!build.startsWith('ok')) {
      return build
        ? `Dify plugin daemon ${build}`
        : 'Dify plugin daemon not built (run scripts/dify-daemon.sh build, or set DIFY_DAEMON_BIN and DIFY_DAEMON_CLI)';
    }
  }
  if (options.packaged) {
    const python = statusOf('python-status');
    if (!python.startsWith('ok')) {
      return python
        ? `packaged install needs Python 3.12 with uv: ${python}`
        : 'packaged install needs Python 3.12 with uv (run scripts/dify-daemon.sh python)';
    }
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'plugin.js'))) return 'dist/plugin.js missing (npm run build)';
  return undefined;
}

/**
 * The describe block of an e2e file for where the daemon cannot run (`reason` from {@link daemonUnavailable}): in CI
 * a failing test naming the reason, elsewhere a skipped one. Declares nothing when the daemon can run.
 */
export function whereDaemonMissing(title: string, reason: string | undefined, needs = 'the real Dify plugin daemon'): void {
  describe.skipIf(reason === undefined)(`${title} (daemon not available)`, () => {
    if (IN_CI) {
      it('needs the real daemon in CI', () => {
        expect.fail(`${needs} is required in CI: ${reason ?? ''}`);
      });
    } else {
      it.skip(`skipped: ${reason ?? ''}`, () => {});
    }
  });
}

/** One parsed `data:` line of the daemon's answers. */
export interface DaemonLine {
  code: number;
  message: string;
  data: unknown;
}

/** Reads an SSE body the way Dify's client does: non-empty lines, `data:` prefix removed, each one JSON. */
export function parseEventStream(body: string): DaemonLine[] {
  return body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => (line.startsWith('data:') ? line.slice(5).trim() : line))
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as DaemonLine);
}

/** The tool messages of an invoke stream (each line's data), after checking every line is a success. */
export interface ToolMessage {
  type: string;
  message: Record<string, unknown> & { json_object?: Record<string, unknown>; text?: string };
}

export class Daemon {
  private constructor(
    readonly env: Record<string, string>,
    private readonly scriptEnv: NodeJS.ProcessEnv,
  ) {}

  /**
   * Starts Redis + the daemon on loopback (scripts/dify-daemon.sh start) against TEST_DATABASE_URL. `extraEnv`
   * reaches the script: `DIFY_INNER_API_URL` / `DIFY_INNER_API_KEY` point the daemon's backwards calls at a fake of
   * Dify's inner API (default: a closed port, so such calls fail).
   */
  static async start(extraEnv: Record<string, string> = {}): Promise<Daemon> {
    const scriptEnv = { ...process.env, ...extraEnv };
    const out = await run('bash', [DAEMON_SCRIPT, 'start'], scriptEnv, 180_000);
    const env = Object.fromEntries(
      out
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    return new Daemon(env, scriptEnv);
  }

  get url(): string {
    return this.env.DIFY_DAEMON_URL!;
  }

  get stateDir(): string {
    return this.env.DIFY_DAEMON_STATE_DIR!;
  }

  /** The daemon's own log so far (for failure messages). */
  log(lines = 60): string {
    const path = join(this.stateDir, 'daemon.log');
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n') : '';
  }

  async restart(): Promise<void> {
    await run('bash', [DAEMON_SCRIPT, 'restart'], { ...this.scriptEnv, DIFY_DAEMON_STATE_DIR: this.stateDir }, 120_000);
  }

  async stop(): Promise<void> {
    await run('bash', [DAEMON_SCRIPT, 'stop'], { ...this.scriptEnv, DIFY_DAEMON_STATE_DIR: this.stateDir }, 60_000);
  }

  /** A call on `/plugin/{tenant}/…` with the server key, as Dify's BasePluginClient makes it. */
  async request(
    tenant: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: FormData; json?: unknown } = {},
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'X-Api-Key': this.env.DIFY_DAEMON_SERVER_KEY!, ...init.headers };
    if (init.json !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.url}/plugin/${tenant}/${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.json === undefined ? init.body : JSON.stringify(init.json),
      signal: AbortSignal.timeout(120_000),
    });
    return { status: response.status, text: await response.text() };
  }

  /** A JSON call whose answer must be `{code: 0}`; returns its `data`. */
  async call<T>(tenant: string, path: string, init: Parameters<Daemon['request']>[2] = {}): Promise<T> {
    const { status, text } = await this.request(tenant, path, init);
    if (status !== 200) throw new Error(`${path}: HTTP ${status}: ${text.slice(0, 2000)}`);
    const reply = JSON.parse(text) as DaemonLine;
    if (reply.code !== 0) throw new Error(`${path}: code ${reply.code}: ${reply.message}`);
    return reply.data as T;
  }

  /** A dispatch call exactly as Dify's PluginToolManager makes it; the stream's lines, parsed. */
  async dispatch(
    tenant: string,
    userId: string,
    action: 'validate_credentials' | 'invoke',
    data: Record<string, unknown>,
  ): Promise<DaemonLine[]> {
    const body =
      action === 'invoke'
        ? { user_id: userId, conversation_id: null, app_id: null, message_id: null, data }
        : { user_id: userId, data };
    const { status, text } = await this.request(tenant, `dispatch/tool/${action}`, {
      method: 'POST',
      headers: { 'X-Plugin-ID': PLUGIN_ID },
      json: body,
    });
    if (status !== 200) throw new Error(`dispatch/tool/${action}: HTTP ${status}: ${text.slice(0, 2000)}`);
    return parseEventStream(text);
  }

  /** Invokes a tool; every line must be a success. Returns the tool messages and the json message's object. */
  async invoke(
    tenant: string,
    userId: string,
    tool: string,
    credentials: Record<string, unknown>,
    parameters: Record<string, unknown>,
  ): Promise<{ messages: ToolMessage[]; json: Record<string, unknown> }> {
    const lines = await this.dispatch(tenant, userId, 'invoke', {
      provider: PROVIDER,
      tool,
      credentials,
      credential_type: 'api-key',
      tool_parameters: parameters,
    });
    const failed = lines.find((line) => line.code !== 0);
    if (failed) throw new Error(`${tool}: the daemon answered code ${failed.code}: ${failed.message}`);
    const messages = lines.map((line) => line.data as ToolMessage);
    const json = messages.find((m) => m.type === 'json')?.message.json_object;
    if (!json) throw new Error(`${tool}: no json message in ${JSON.stringify(messages).slice(0, 2000)}`);
    return { messages, json };
  }

  /**
   * Installs a .difypkg for `tenant` as Dify's console does: upload/package, then install/identifiers, then polls
   * install/tasks/{id} until success (a package the daemon already has for another tenant installs at once).
   * Returns the package's unique identifier. Installed is not yet running: see {@link waitForPlugin}.
   */
  async installPackage(tenant: string, pkg: { name: string; bytes: Buffer }): Promise<string> {
    const identifier = await this.upload(tenant, pkg);
    const install = await this.call<{ all_installed: boolean; task_id: string }>(tenant, 'management/install/identifiers', {
      method: 'POST',
      json: { plugin_unique_identifiers: [identifier], source: 'package', metas: [{}] },
    });
    if (!install.all_installed) await this.waitForTask(tenant, install.task_id);
    return identifier;
  }

  /** Upgrades `tenant` from one installed identifier to a new package, as Dify's console does (install/upgrade). */
  async upgradePackage(tenant: string, from: string, pkg: { name: string; bytes: Buffer }): Promise<string> {
    const identifier = await this.upload(tenant, pkg);
    const upgrade = await this.call<{ all_installed: boolean; task_id: string }>(tenant, 'management/install/upgrade', {
      method: 'POST',
      json: { original_plugin_unique_identifier: from, new_plugin_unique_identifier: identifier, source: 'package', meta: {} },
    });
    if (!upgrade.all_installed) await this.waitForTask(tenant, upgrade.task_id);
    return identifier;
  }

  private async upload(tenant: string, pkg: { name: string; bytes: Buffer }): Promise<string> {
    const form = new FormData();
    form.append('dify_pkg', new Blob([new Uint8Array(pkg.bytes)]), pkg.name);
    const uploaded = await this.call<{ unique_identifier: string }>(tenant, 'management/install/upload/package', { method: 'POST', body: form });
    return uploaded.unique_identifier;
  }

  private async waitForTask(tenant: string, taskId: string): Promise<void> {
    await waitFor(
      async () => {
        const task = await this.call<{ status: string; plugins: Array<{ status: string; message: string }> }>(tenant, `management/install/tasks/${taskId}`);
        if (task.status === 'failed') throw new Error(`install task failed: ${JSON.stringify(task.plugins)}\n${this.log()}`);
        return task.status === 'success' ? task : undefined;
      },
      180_000,
      () => `install task ${taskId} did not succeed\n${this.log()}`,
    );
  }

  /** Until a validate_credentials call of `tenant` succeeds through the daemon (the plugin is launched and speaking). */
  async waitForPlugin(tenant: string, userId: string, credentials: Record<string, unknown>, when: string): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        try {
          const lines = await this.dispatch(tenant, userId, 'validate_credentials', { provider: PROVIDER, credentials });
          last = JSON.stringify(lines).slice(0, 500);
          return lines.some((l) => l.code === 0) ? true : undefined;
        } catch (error) {
          last = String(error);
          return undefined;
        }
      },
      180_000,
      () => `the installed plugin never answered ${when}; last answer: ${last}\n${this.log()}`,
    );
  }

  /**
   * The node processes running our bundle under this daemon (found through /proc by their command line, which names
   * the version's working folder), with their resident memory.
   */
  pluginProcesses(): Array<{ pid: number; rssKiB: number; cmdline: string }> {
    const found: Array<{ pid: number; rssKiB: number; cmdline: string }> = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (!cmdline.includes(this.stateDir) || !cmdline.includes('dist/plugin.js')) continue;
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
        found.push({ pid: Number(entry), rssKiB: rss ? Number(rss[1]) : 0, cmdline });
      } catch {
        // the process ended while we looked
      }
    }
    return found;
  }

  async listPlugins(tenant: string): Promise<Array<Record<string, unknown>>> {
    const data = await this.call<{ list?: Array<Record<string, unknown>> } | Array<Record<string, unknown>> | null>(
      tenant,
      'management/list?page=1&page_size=256&response_type=paged',
    );
    return Array.isArray(data) ? data : (data?.list ?? []);
  }

  /** The tool names the daemon lists for our plugin (what Dify's tool page reads: management/tools). */
  async toolNames(tenant: string): Promise<{ provider: string | undefined; tools: string[] }> {
    const data = await this.call<
      Array<{ plugin_id: string; declaration: { identity: { name: string }; tools: Array<{ identity: { name: string } }> } }>
    >(tenant, 'management/tools?page=1&page_size=256');
    const ours = data.find((p) => p.plugin_id === PLUGIN_ID);
    return { provider: ours?.declaration.identity.name, tools: (ours?.declaration.tools ?? []).map((t) => t.identity.name).sort() };
  }
}

/**
 * The file a tool sent as `blob_chunk` messages (export_memories), joined in sequence order.
 * @throws Error when the last chunk is not marked `end`.
 */
/** The model settings the e2e files give the plugin: the fake OpenAI as LLM and embedder, writes in sync mode. */
export function fakeModelCredentials(openai: FakeOpenAI): Record<string, unknown> {
  return {
    async_mode: false,
    local_llm_json_secret: JSON.stringify({ provider: 'openai', config: { model: 'fake-llm', api_key: 'sk-e2e-llm', openai_base_url: openai.baseURL } }),
    local_embedder_json_secret: JSON.stringify({
      provider: 'openai',
      config: { model: 'fake-embedding', api_key: 'sk-e2e-emb', openai_base_url: openai.baseURL, embedding_dims: openai.dims },
    }),
  };
}

export function blobFile(messages: readonly ToolMessage[]): string {
  const chunks = messages.filter((m) => m.type === 'blob_chunk') as unknown as Array<{ message: { sequence: number; blob: string; end: boolean } }>;
  chunks.sort((a, b) => a.message.sequence - b.message.sequence);
  if (chunks.at(-1)?.message.end !== true) throw new Error(`the blob's last chunk is not marked end (${chunks.length} chunks)`);
  return Buffer.concat(chunks.map((c) => Buffer.from(c.message.blob, 'base64'))).toString('utf8');
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes; then throws with `describe()`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** A database of its own on the test server (template1 there has the vector extension); `drop()` removes it. */
export async function pluginDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * The built bundle connected to the daemon by REMOTE DEBUGGING, as `dify plugin` debugging does: Dify's "debugging
 * key" (POST /plugin/{tenant}/debugging/key), then the bundle dials the daemon's TCP port with it. Resolves once the
 * daemon lists the plugin for `tenant` (registration is asynchronous).
 */
export async function connectRemotePlugin(daemon: Daemon, tenant: string): Promise<{ stderr(): string; stop(): Promise<void> }> {
  const key = await daemon.call<{ key: string }>(tenant, 'debugging/key', { method: 'POST' });
  const child = spawn(process.execPath, [BUNDLE], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      INSTALL_METHOD: 'remote',
      REMOTE_INSTALL_URL: `${daemon.env.DIFY_DAEMON_REMOTE_HOST}:${daemon.env.DIFY_DAEMON_REMOTE_PORT}`,
      REMOTE_INSTALL_HOST: daemon.env.DIFY_DAEMON_REMOTE_HOST,
      REMOTE_INSTALL_PORT: daemon.env.DIFY_DAEMON_REMOTE_PORT,
      REMOTE_INSTALL_KEY: key.key,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  try {
    await waitFor(
      async () => ((await daemon.listPlugins(tenant)).some((p) => p.plugin_id === PLUGIN_ID) ? true : undefined),
      60_000,
      () => `the daemon never listed ${PLUGIN_ID}; plugin stderr:\n${stderr}\ndaemon log:\n${daemon.log()}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { stderr: () => stderr, stop };
}
