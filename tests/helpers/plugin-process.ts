/**
 * Test driver for the BUILT plugin (dist/plugin.js) as a child process: writes request lines to its stdin, parses
 * every stdout line as a frame (remembering any line that is not JSON), collects stderr, and waits for frames.
 * @module
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeWorkspaceModels } from './workspace-models.js';
import { FakePluginStorage } from './plugin-storage.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE = path.join(REPO_ROOT, 'dist', 'plugin.js');
/** Small stand-alone declarations for unit tests of registration shapes (the real app refuses them). */
export const FIXTURE_ROOT = path.join(REPO_ROOT, 'tests', 'runtime', 'fixtures', 'plugin');

/** Copies the real declarations (manifest, provider, tools, assets) into a fresh temporary plugin folder. */
export function copyDeclarations(prefix = 'plugin-root-'): string {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  for (const entry of ['manifest.yaml', 'provider', 'tools', '_assets']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  return root;
}

/** Builds dist/plugin.js if it is missing (`npm test` builds first; a bare `vitest run` may not have). */
export function ensureBundle(): void {
  if (!existsSync(BUNDLE)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

export type Frame = Record<string, unknown> & { event?: string; session_id?: string | null; data?: unknown };

export interface ReceivedFrame {
  frame: Frame;
  /** ms since spawn */
  at: number;
}

export interface SessionResult {
  frames: Frame[];
  streams: unknown[];
  error: { error_type: string; message: string; args: Record<string, unknown> } | null;
}

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

/** A request frame as the daemon sends it. */
export function requestFrame(sessionId: string, data: Record<string, unknown>): Frame {
  return {
    session_id: sessionId,
    conversation_id: null,
    message_id: null,
    app_id: null,
    endpoint_id: null,
    context: null,
    event: 'request',
    data: { user_id: 'user-1', type: 'tool', ...data },
  };
}

export function invokeFrame(sessionId: string, tool: string, parameters: Record<string, unknown> = {}): Frame {
  return requestFrame(sessionId, {
    action: 'invoke_tool',
    provider: 'mem0ai',
    tool,
    tool_parameters: parameters,
    credentials: { api_key: 'sk-test-secret-123' },
    credential_type: 'api-key',
  });
}

/** Collects frames per session; resolves once each session's end frame arrived. */
export class FrameCollector {
  readonly received: ReceivedFrame[] = [];
  private waiters: Waiter[] = [];
  private readonly started = performance.now();
  /** Called with every frame as it arrives (a fake daemon answering backwards calls listens here). */
  readonly listeners: ((frame: Frame) => void)[] = [];

  push(frame: Frame): void {
    this.received.push({ frame, at: performance.now() - this.started });
    for (const listener of this.listeners) listener(frame);
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (waiter.match(frame)) waiter.resolve(frame);
      else this.waiters.push(waiter);
    }
  }

  /** The first frame (already received or future) that matches. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = 10_000, what = 'frame'): Promise<Frame> {
    const seen = this.received.find((r) => match(r.frame));
    if (seen) return Promise.resolve(seen.frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits for the session's end frame and returns everything the session got. */
  async session(sessionId: string, timeoutMs = 10_000): Promise<SessionResult> {
    await this.waitFor((f) => isSessionFrame(f, sessionId, 'end'), timeoutMs, `end of session ${sessionId}`);
    const frames = this.received.map((r) => r.frame).filter((f) => f.session_id === sessionId);
    const streams = frames.filter((f) => sessionType(f) === 'stream').map((f) => (f.data as { data: unknown }).data);
    const errorFrame = frames.find((f) => sessionType(f) === 'error');
    return {
      frames,
      streams,
      error: errorFrame ? ((errorFrame.data as { data: SessionResult['error'] }).data ?? null) : null,
    };
  }

  heartbeats(): ReceivedFrame[] {
    return this.received.filter((r) => r.frame.event === 'heartbeat');
  }
}

export function sessionType(frame: Frame): string | undefined {
  if (frame.event !== 'session') return undefined;
  return (frame.data as { type?: string } | undefined)?.type;
}

export function isSessionFrame(frame: Frame, sessionId: string, type: string): boolean {
  return frame.session_id === sessionId && sessionType(frame) === type;
}

/** Splits a byte stream into lines for the tests (kept independent of the code under test). */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = Buffer.alloc(0);
  return (chunk) => {
    let buffer = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let index: number;
    while ((index = buffer.indexOf(10)) !== -1) {
      onLine(buffer.subarray(0, index).toString('utf8'));
      buffer = buffer.subarray(index + 1);
    }
    rest = Buffer.from(buffer);
  };
}

/** Checks `done` every 20 ms until it holds (true) or `timeoutMs` passes (false). */
async function pollUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

export interface SpawnOptions {
  root?: string;
  /** Working directory (default: `root`). */
  cwd?: string;
  env?: Record<string, string | undefined>;
  /**
   * Who answers the plugin's backwards `storage` calls (the embedded store asks for its workspace namespace there).
   * Default: a fresh FakePluginStorage, as the real daemon always answers; `false`: nobody answers.
   */
  storage?: FakePluginStorage | false;
  /** Who answers the plugin's backwards model calls (the settings page's model pickers); default: nobody. */
  models?: FakeWorkspaceModels;
}

export class PluginProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly frames = new FrameCollector();
  /** stdout lines that were not JSON objects: must stay empty. */
  readonly badLines: string[] = [];
  /** Longest stdout line seen, in bytes. */
  maxLineBytes = 0;
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Spawns the bundle over stdio with the test hooks on; `root` defaults to the repository's declarations. */
  constructor(options: SpawnOptions = {}) {
    ensureBundle();
    this.child = spawn(process.execPath, [BUNDLE], {
      cwd: options.cwd ?? options.root ?? REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        PLUGIN_ROOT: options.root ?? REPO_ROOT,
        INSTALL_METHOD: 'local',
        PLUGIN_TEST_HOOKS: '1',
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.on(
      'data',
      lineSplitter((line) => {
        this.maxLineBytes = Math.max(this.maxLineBytes, Buffer.byteLength(line));
        if (line.trim() === '') return;
        try {
          const value = JSON.parse(line) as unknown;
          if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
          this.frames.push(value as Frame);
        } catch {
          this.badLines.push(line.slice(0, 200));
        }
      }),
    );
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      this.stderr += text;
    });
    this.child.stdin.on('error', () => {});
    const storage = options.storage ?? new FakePluginStorage();
    if (storage) storage.attach(this.frames, (frame) => this.send(frame));
    options.models?.attach(this.frames, (frame) => this.send(frame));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  send(frame: Frame): void {
    this.child.stdin.write(JSON.stringify(frame) + '\n');
  }

  sendRaw(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.stdin.write(text)) resolve();
      else this.child.stdin.once('drain', () => resolve());
    });
  }

  /** The plugin's `log` frames on stdout (stdio mode, once the transport is up): their `data` records. */
  logRecords(): Array<{ level: string; message: string; timestamp: number }> {
    return this.frames.received
      .filter((r) => r.frame.event === 'log')
      .map((r) => r.frame.data as { level: string; message: string; timestamp: number });
  }

  /** Everything the plugin logged: `log` frame messages and stderr, for "was it logged / was a secret leaked" checks. */
  get log(): string {
    return [...this.logRecords().map((r) => r.message), this.stderr].join('\n');
  }

  /** Waits until the log (log frames or stderr) contains `text`; false on timeout. */
  logIncludes(text: string, timeoutMs = 3000): Promise<boolean> {
    return pollUntil(() => this.log.includes(text), timeoutMs);
  }

  /** Waits until stderr (the plugin's log, written asynchronously) contains `text`; false on timeout. */
  stderrIncludes(text: string, timeoutMs = 3000): Promise<boolean> {
    return pollUntil(() => this.stderr.includes(text), timeoutMs);
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  /** Waits for exit, killing the process if it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
