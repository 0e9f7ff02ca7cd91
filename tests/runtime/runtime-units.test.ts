// Configuration, registration shapes, backoff and the session router, in process.
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { backoffDelay } from '../../src/shared/backoff.js';
import { loadRuntimeConfig, parseDotEnv, parseRemoteAddress } from '../../src/runtime/config.js';
import { PluginError } from '../../src/runtime/contract.js';
import type { PluginHandlers, ToolMessage } from '../../src/runtime/contract.js';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import { describeError, toWireError } from '../../src/runtime/frames.js';
import { startHeartbeat } from '../../src/runtime/heartbeat.js';
import { assetChunks, manifestDeclaration, referencedIcons, toolDeclaration } from '../../src/runtime/registration.js';
import { SessionRouter } from '../../src/runtime/session-router.js';
import type { Transport } from '../../src/runtime/transport.js';
import { FIXTURE_ROOT } from '../helpers/plugin-process.js';

describe('runtime config', () => {
  it('parses .env text', () => {
    expect(
      parseDotEnv('# c\nexport A=1\nB = "two words"\nC=\'x#y\'\nD=plain # comment\nbad line\nE="a\\nb"\n'),
    ).toEqual({ A: '1', B: 'two words', C: 'x#y', D: 'plain', E: 'a\nb' });
  });

  it('parses remote addresses with a default port', () => {
    expect(parseRemoteAddress('debug.example.com:5003')).toEqual({ host: 'debug.example.com', port: 5003 });
    expect(parseRemoteAddress('localhost')).toEqual({ host: 'localhost', port: 5003 });
    expect(parseRemoteAddress('tcp://10.0.0.5:6000')).toEqual({ host: '10.0.0.5', port: 6000 });
    expect(parseRemoteAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(() => parseRemoteAddress('host:notaport')).toThrow('invalid port');
  });

  it('picks the door', () => {
    expect(loadRuntimeConfig({}).installMethod).toBe('local');
    expect(loadRuntimeConfig({ REMOTE_INSTALL_URL: 'h:1' }).installMethod).toBe('local');
    const implicit = loadRuntimeConfig({ REMOTE_INSTALL_URL: 'h:1', REMOTE_INSTALL_KEY: 'k' });
    expect(implicit.installMethod).toBe('remote');
    expect(implicit.remote).toEqual({ host: 'h', port: 1, key: 'k' });
    expect(loadRuntimeConfig({ INSTALL_METHOD: 'local', REMOTE_INSTALL_URL: 'h:1', REMOTE_INSTALL_KEY: 'k' }).remote).toBeNull();
    expect(loadRuntimeConfig({ INSTALL_METHOD: 'remote', REMOTE_INSTALL_KEY: 'k' }).remote).toEqual({
      host: 'localhost',
      port: 5003,
      key: 'k',
    });
    expect(() => loadRuntimeConfig({ INSTALL_METHOD: 'remote' })).toThrow('REMOTE_INSTALL_KEY');
    expect(() => loadRuntimeConfig({ INSTALL_METHOD: 'serverless' })).toThrow('local or remote');
  });

  it('reads timing knobs and ignores nonsense', () => {
    const config = loadRuntimeConfig({ PLUGIN_HEARTBEAT_MS: '250', PLUGIN_SHUTDOWN_GRACE_MS: 'soon' });
    expect(config.heartbeatMs).toBe(250);
    expect(config.shutdownGraceMs).toBe(5000);
    expect(loadRuntimeConfig({}).heartbeatMs).toBeLessThanOrEqual(15_000);
  });
});

describe('backoff', () => {
  it('grows exponentially, stays within [d/2, d] and is capped', () => {
    expect(backoffDelay(0, 1000, 30_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 30_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 30_000, () => 1)).toBe(8000);
    expect(backoffDelay(10, 1000, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(100, 1000, 30_000, () => 0.5)).toBe(22_500);
  });
});

describe('registration shapes', () => {
  const declarations = loadDeclarations(FIXTURE_ROOT);

  it('turns credentials_for_provider into a named credentials_schema list', () => {
    const [provider] = toolDeclaration(declarations);
    expect(provider!.credentials_schema).toEqual([
      {
        name: 'api_key',
        type: 'secret-input',
        required: true,
        label: { en_US: 'API key' },
        placeholder: { en_US: 'sk-...' },
        help: { en_US: 'Any value.' },
        options: [],
      },
      expect.objectContaining({ name: 'region', type: 'select', default: 'eu' }),
    ]);
  });

  it('sends option values as strings, as the daemon decodes them', () => {
    const [tool] = declarations.tools;
    const numeric = {
      ...declarations,
      tools: [{ ...tool!, parameters: [{ ...tool!.parameters[1]!, options: [{ value: 10, label: { en_US: 'ten' } }] }] }],
    } as unknown as typeof declarations;
    const [provider] = toolDeclaration(numeric);
    const [sent] = provider!.tools as { parameters: { options: { value: unknown }[] }[] }[];
    expect(sent!.parameters[0]!.options).toEqual([{ value: '10', label: { en_US: 'ten' } }]);
  });

  it('normalises created_at to RFC 3339 and names the icons', () => {
    const manifest = manifestDeclaration({
      ...declarations,
      manifest: { ...declarations.manifest, created_at: '2026-01-02 03:04:05Z' },
    });
    expect(manifest.created_at).toBe('2026-01-02T03:04:05.000Z');
    expect(manifestDeclaration(declarations).created_at).toBe('2026-01-02T03:04:05Z');
    expect(referencedIcons(declarations)).toEqual(['icon.svg']);
  });

  it('chunks assets at 8192 raw bytes', () => {
    const bytes = Buffer.alloc(8192 * 2 + 1, 7);
    const chunks = assetChunks('a.bin', bytes);
    expect(chunks.map((c) => Buffer.from((c.data as { data: string }).data, 'base64').length)).toEqual([8192, 8192, 1]);
    expect(chunks.map((c) => (c.data as { end: boolean }).end)).toEqual([false, false, true]);
    expect(assetChunks('exact.bin', Buffer.alloc(8192)).map((c) => (c.data as { end: boolean }).end)).toEqual([true]);
  });
});

describe('wire errors', () => {
  it('passes PluginError through with at most 10 plain args', () => {
    const args = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i]));
    const wire = toWireError(new PluginError('T', 'm', { ...args, fn: () => 1 }));
    expect(wire.error_type).toBe('T');
    expect(Object.keys(wire.args)).toHaveLength(10);
  });

  it('hides other errors behind a reference and scrubs secrets for the log', () => {
    let logged: { reference: string; error: unknown } | null = null;
    const wire = toWireError(new Error('password=hunter22 at db'), 'X', (reference, error) => {
      logged = { reference, error };
    });
    expect(wire).toEqual({ error_type: 'X', message: expect.stringContaining(logged!.reference), args: {} });
    expect(JSON.stringify(describeError(logged!.error, ['hunter22']))).not.toContain('hunter22');
  });
});

/** A transport double: collects sent frames, lets the test deliver messages. */
class MemoryTransport implements Transport {
  readonly sent: Record<string, unknown>[] = [];
  onmessage?: (message: unknown) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  async start(): Promise<void> {}
  async send(frame: unknown): Promise<void> {
    this.sent.push(JSON.parse(JSON.stringify(frame)) as Record<string, unknown>);
  }
  async close(): Promise<void> {}
  deliver(message: unknown): void {
    this.onmessage?.(message);
  }
  types(sessionId: string): string[] {
    return this.sent.filter((f) => f.session_id === sessionId).map((f) => (f.data as { type: string }).type);
  }
}

describe('heartbeat', () => {
  it('beats at once, then once per interval, and never after it is stopped', () => {
    vi.useFakeTimers();
    try {
      const transport = new MemoryTransport();
      const stop = startHeartbeat(transport, 500, pino({ level: 'silent' }));
      const beats = () => transport.sent.filter((f) => f.event === 'heartbeat').length;
      expect(transport.sent).toEqual([{ event: 'heartbeat', session_id: null, data: {} }]);
      vi.advanceTimersByTime(499);
      expect(beats()).toBe(1);
      vi.advanceTimersByTime(1);
      expect(beats()).toBe(2);
      vi.advanceTimersByTime(1000);
      expect(beats()).toBe(4);
      stop();
      vi.advanceTimersByTime(10_000);
      expect(beats()).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('SessionRouter', () => {
  const logger = pino({ level: 'silent' });

  function setup(invoke: PluginHandlers['invokeTool']) {
    const handlers: PluginHandlers = {
      invokeTool: invoke,
      validateCredentials: async () => {},
      close: async () => {},
    };
    const router = new SessionRouter({ handlers, logger });
    const transport = new MemoryTransport();
    router.connect(transport);
    return { router, transport };
  }

  const request = (sid: string) => ({
    session_id: sid,
    event: 'request',
    data: { type: 'tool', action: 'invoke_tool', tool: 't', provider: 'p', tool_parameters: {}, credentials: {} },
  });

  it('aborts the sessions of a lost transport and sends nothing more for them', async () => {
    let seen: AbortSignal | null = null;
    // eslint-disable-next-line require-yield -- never yields: it waits until aborted
    const { router, transport } = setup(async function* (_req, ctx): AsyncGenerator<ToolMessage> {
      seen = ctx.signal;
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    transport.deliver(request('a'));
    expect(router.inFlight).toBe(1);
    router.abortTransport(transport, 'connection lost');
    await router.drain(1000);
    expect(seen!.aborted).toBe(true);
    expect(transport.types('a')).toEqual([]);
    expect(router.inFlight).toBe(0);
  });

  it('answers requests that arrive while draining with an error, and ignores a duplicate session id', async () => {
    const { router, transport } = setup(async function* (): AsyncGenerator<ToolMessage> {
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield { type: 'text', message: { text: 'done' }, meta: null };
    });
    transport.deliver(request('x'));
    transport.deliver(request('x'));
    const drained = router.drain(2000);
    transport.deliver(request('late'));
    expect(await drained).toBe(true);
    expect(transport.types('x')).toEqual(['stream', 'end']);
    expect(transport.types('late')).toEqual(['error', 'end']);
  });
});
