// The built plugin over stdio, driven like the daemon drives an installed package.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PluginProcess, ensureBundle, invokeFrame, requestFrame } from '../helpers/plugin-process.js';

let plugin: PluginProcess | null = null;

function start(env: Record<string, string> = {}): PluginProcess {
  plugin = new PluginProcess({ env });
  return plugin;
}

beforeAll(() => ensureBundle());

afterEach(async () => {
  if (plugin && plugin.child.exitCode === null) {
    plugin.child.kill('SIGKILL');
    await plugin.exited;
  }
  plugin = null;
});

describe('stdio door', () => {
  it('sends a heartbeat first, then answers a tool call with stream frames and an end frame', async () => {
    const p = start();
    const first = await p.frames.waitFor(() => true, 10_000, 'first frame');
    expect(first).toEqual({ event: 'heartbeat', session_id: null, data: {} });

    p.send(invokeFrame('s-echo', '__test_echo', { query: 'hi', n: 2 }));
    const result = await p.frames.session('s-echo');
    expect(result.error).toBeNull();
    expect(result.streams).toEqual([
      {
        type: 'json',
        message: { json_object: { parameters: { query: 'hi', n: 2 }, credential_type: 'api-key', user_id: 'user-1' } },
        meta: null,
      },
      { type: 'text', message: { text: 'echo' }, meta: null },
    ]);
    expect(result.frames.at(-1)).toEqual({ event: 'session', session_id: 's-echo', data: { type: 'end', data: {} } });
    expect(p.badLines).toEqual([]);
  });

  it('keeps interleaved sessions apart', async () => {
    const p = start();
    p.send(invokeFrame('slow', '__test_sleep', { ms: 300 }));
    p.send(invokeFrame('fast', '__test_echo', { query: 'quick' }));
    const fast = await p.frames.session('fast');
    const slow = await p.frames.session('slow');
    expect(fast.streams).toHaveLength(2);
    expect(slow.streams).toEqual([{ type: 'text', message: { text: 'slept 300' }, meta: null }]);
    const order = p.frames.received.map((r) => r.frame.session_id).filter((s) => s === 'fast' || s === 'slow');
    expect(order.indexOf('fast')).toBeLessThan(order.indexOf('slow'));
  });

  it('completes 1000 concurrent sessions, each with exactly its own frames, on valid JSON lines only', async () => {
    const p = start();
    const ids = Array.from({ length: 1000 }, (_, i) => `c-${i}`);
    const batch = ids
      .map((id, i) => JSON.stringify(invokeFrame(id, i % 2 ? '__test_echo' : '__test_sleep', { i, ms: i % 7 })))
      .join('\n');
    await p.sendRaw(batch + '\n');
    const results = await Promise.all(ids.map((id) => p.frames.session(id, 30_000)));
    results.forEach((result, i) => {
      const last = result.frames.at(-1);
      expect(last?.data).toEqual({ type: 'end', data: {} });
      expect(result.frames.filter((f) => (f.data as { type: string }).type === 'end')).toHaveLength(1);
      expect(result.error).toBeNull();
      if (i % 2) expect(result.streams[0]).toMatchObject({ message: { json_object: { parameters: { i } } } });
      else expect(result.streams).toEqual([{ type: 'text', message: { text: `slept ${i % 7}` }, meta: null }]);
    });
    const sessionFrames = p.frames.received.filter((r) => r.frame.event === 'session');
    expect(sessionFrames).toHaveLength(500 * 3 + 500 * 2);
    expect(p.badLines).toEqual([]);
  });

  it('skips garbage lines and non-object JSON, and keeps serving', async () => {
    const p = start();
    await p.sendRaw('this is not json\n[1,2,3]\n42\n"text"\n{"event":"mystery"}\n{"event":"request"}\n\n   \n{broken\n');
    p.send({ session_id: 'b1', event: 'backwards_response', data: { backwards_request_id: 'x', event: 'end' } });
    p.send(invokeFrame('after-garbage', '__test_echo', { ok: true }));
    const result = await p.frames.session('after-garbage');
    expect(result.error).toBeNull();
    expect(p.frames.received.some((r) => r.frame.session_id === 'b1')).toBe(false);
    expect(await p.logIncludes('not a JSON frame')).toBe(true);
    expect(p.badLines).toEqual([]);
  });

  it('handles a 6 MiB request line and keeps working; too-large output becomes an error, long text is split', async () => {
    const p = start();
    const padding = 'p'.repeat(6 * 1024 * 1024);
    await p.sendRaw(JSON.stringify(invokeFrame('big-in', '__test_sleep', { ms: 1, padding })) + '\n');
    const bigIn = await p.frames.session('big-in', 20_000);
    expect(bigIn.error).toBeNull();
    expect(bigIn.streams).toEqual([{ type: 'text', message: { text: 'slept 1' }, meta: null }]);

    // Echoing 6 MiB back would break the daemon's 5 MiB line limit: the session fails cleanly instead.
    await p.sendRaw(JSON.stringify(invokeFrame('big-echo', '__test_echo', { padding })) + '\n');
    const bigEcho = await p.frames.session('big-echo', 20_000);
    expect(bigEcho.error?.error_type).toBe('PluginInvokeError');
    expect(bigEcho.error?.message).toContain('5 MiB');

    p.send(invokeFrame('big-text', '__test_big', { text_bytes: 6 * 1024 * 1024 }));
    const bigText = await p.frames.session('big-text', 20_000);
    expect(bigText.error).toBeNull();
    const text = bigText.streams.map((s) => (s as { message: { text: string } }).message.text).join('');
    expect(text.length).toBe(6 * 1024 * 1024);
    expect(bigText.streams.length).toBeGreaterThan(1);

    p.send(invokeFrame('after-big', '__test_echo'));
    expect((await p.frames.session('after-big')).error).toBeNull();
    expect(p.maxLineBytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(p.badLines).toEqual([]);
  });

  it('skips a line above the input cap without losing the next one', async () => {
    const p = start({ PLUGIN_MAX_LINE_BYTES: String(1024 * 1024) });
    await p.sendRaw(JSON.stringify(invokeFrame('too-big', '__test_echo', { x: 'z'.repeat(2 * 1024 * 1024) })) + '\n');
    p.send(invokeFrame('next', '__test_echo'));
    expect((await p.frames.session('next')).error).toBeNull();
    expect(p.frames.received.some((r) => r.frame.session_id === 'too-big')).toBe(false);
    expect(await p.logIncludes('skipped an incoming line')).toBe(true);
  });

  it('answers unknown actions, unknown types and runtime-parameter requests with error then end', async () => {
    const p = start();
    p.send(requestFrame('u1', { action: 'make_coffee' }));
    p.send(requestFrame('u2', { type: 'model', action: 'invoke_llm' }));
    p.send(requestFrame('u3', { action: 'get_tool_runtime_parameters', provider: 'x', tool: 'echo' }));
    for (const id of ['u1', 'u2', 'u3']) {
      const result = await p.frames.session(id);
      expect(result.frames.map((f) => (f.data as { type: string }).type)).toEqual(['error', 'end']);
      expect(result.error?.error_type).toBe('PluginInvokeError');
    }
    expect((await p.frames.session('u1')).error?.message).toContain('unknown action: make_coffee');
  });

  it('turns a throwing tool into error then end, without leaking the message, stack or credentials', async () => {
    const p = start();
    p.send(invokeFrame('t1', '__test_throw'));
    const result = await p.frames.session('t1');
    expect(result.frames.map((f) => (f.data as { type: string }).type)).toEqual(['error', 'end']);
    expect(result.error?.error_type).toBe('PluginInvokeError');
    expect(result.error?.message).toMatch(/internal error in the plugin \(reference [0-9a-f]{8}/);
    const wire = JSON.stringify(result.frames);
    expect(wire).not.toContain('sk-test-secret-123');
    expect(wire).not.toContain('exploded');
    expect(wire).not.toContain('at ');
    // The log keeps the details for the operator, with the credential value scrubbed.
    expect(await p.logIncludes('exploded')).toBe(true);
    expect(p.log).not.toContain('sk-test-secret-123');

    p.send(invokeFrame('t2', '__test_plugin_error'));
    const typed = await p.frames.session('t2');
    expect(typed.error).toEqual({ error_type: 'TestError', message: 'expected failure', args: { field: 'x' } });
  });

  it('validates credentials: result true then end, or a credential error', async () => {
    const p = start();
    p.send(requestFrame('v-ok', { action: 'validate_tool_credentials', provider: 'p', credentials: { __test_result: 'ok' } }));
    p.send(requestFrame('v-bad', { action: 'validate_tool_credentials', provider: 'p', credentials: { __test_result: 'fail' } }));
    const ok = await p.frames.session('v-ok');
    expect(ok.streams).toEqual([{ result: true }]);
    const bad = await p.frames.session('v-bad');
    expect(bad.error?.error_type).toBe('ToolProviderCredentialValidationError');
  });

  it('diverts stray stdout writes to stderr and console.log into the logger (no plain line)', async () => {
    const p = start({ LOG_LEVEL: 'debug' });
    p.send(invokeFrame('noise', '__test_stdout'));
    const result = await p.frames.session('noise');
    expect(result.error).toBeNull();
    expect(await p.logIncludes('stray write from a dependency')).toBe(true);
    expect(await p.logIncludes('stray console.log from a dependency')).toBe(true);
    // Once the transport is up the logger speaks in log frames: the console line is one debug record marked as such.
    const records = p.logRecords().filter((r) => r.message.includes('stray console.log'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'debug' });
    expect(records[0]!.message).toContain('"from":"console"');
    expect(p.stderr).not.toContain('stray console.log');
    expect(p.badLines).toEqual([]);
  });

  it('beats first and then at the configured interval', async () => {
    const p = start({ PLUGIN_HEARTBEAT_MS: '500' });
    // Three beats come long before the default interval (10 s) would allow a second one: the setting is used.
    // (The spacing itself is checked with fake timers in runtime-units.test.ts, not with this machine's clock.)
    await p.frames.waitFor(() => p.frames.heartbeats().length >= 3, 10_000, 'three heartbeats');
    expect(p.frames.received[0]!.frame.event).toBe('heartbeat');
  });

  it('exits 0 on stdin EOF after finishing the running sessions', async () => {
    const p = start();
    await p.frames.waitFor((f) => f.event === 'heartbeat');
    p.send(invokeFrame('eof-1', '__test_sleep', { ms: 400 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    p.closeStdin();
    const result = await p.frames.session('eof-1');
    expect(result.error).toBeNull();
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`exits 0 on ${signal} with in-flight sessions completed`, async () => {
      const p = start();
      await p.frames.waitFor((f) => f.event === 'heartbeat');
      p.send(invokeFrame('sig-1', '__test_sleep', { ms: 500 }));
      p.send(invokeFrame('sig-2', '__test_echo'));
      await p.frames.waitFor((f) => f.session_id === 'sig-2');
      p.child.kill(signal);
      const result = await p.frames.session('sig-1');
      expect(result.streams).toEqual([{ type: 'text', message: { text: 'slept 500' }, meta: null }]);
      expect(await p.stop()).toEqual({ code: 0, signal: null });
    });
  }

  it('aborts sessions that outlive the shutdown grace, still ending them, and exits 0', async () => {
    const p = start({ PLUGIN_SHUTDOWN_GRACE_MS: '200' });
    await p.frames.waitFor((f) => f.event === 'heartbeat');
    p.send(invokeFrame('long', '__test_sleep', { ms: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    p.child.kill('SIGTERM');
    const result = await p.frames.session('long');
    expect(result.frames.map((f) => (f.data as { type: string }).type)).toEqual(['error', 'end']);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  });

  it('stops a session that outlives the session timeout with error then end, and keeps serving', async () => {
    const p = start({ PLUGIN_SESSION_TIMEOUT_MS: '300' });
    p.send(invokeFrame('stuck', '__test_sleep', { ms: 60_000 }));
    const result = await p.frames.session('stuck');
    expect(result.frames.map((f) => (f.data as { type: string }).type)).toEqual(['error', 'end']);
    expect(result.error?.message).toContain('took longer than');
    p.send(invokeFrame('next', '__test_echo'));
    expect((await p.frames.session('next')).error).toBeNull();
  });

  it('answers requests that arrive during shutdown with an error instead of silence', async () => {
    const p = start({ PLUGIN_SHUTDOWN_GRACE_MS: '30000' });
    // Serving, not just beating: a request sent before the app is built would be read together with the late one.
    expect(await p.logIncludes('serving over stdio', 10_000)).toBe(true);
    // Steps by what the plugin said, not by sleeps: the draining session is running (the echo behind it was
    // answered), the signal was taken ('shutting down'), and 3 s of draining leave room for the late request.
    p.send(invokeFrame('draining', '__test_sleep', { ms: 3000 }));
    p.send(invokeFrame('running', '__test_echo'));
    await p.frames.session('running');
    p.child.kill('SIGTERM');
    expect(await p.logIncludes('shutting down', 10_000)).toBe(true);
    p.send(invokeFrame('too-late', '__test_echo'));
    const late = await p.frames.session('too-late');
    expect(late.error?.message).toContain('shutting down');
    expect((await p.frames.session('draining')).error).toBeNull();
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  });

  it('does not serve test tools without PLUGIN_TEST_HOOKS', async () => {
    const p = start({ PLUGIN_TEST_HOOKS: '' });
    p.send(invokeFrame('nohooks', '__test_echo'));
    const result = await p.frames.session('nohooks');
    expect(result.streams).toEqual([]);
    expect(result.error).not.toBeNull();
  });
});
