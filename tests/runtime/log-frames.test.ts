// The plugin's logs in local (stdio) mode: protocol `log` frames once the transport is up, in the shape the daemon
// parses (pkg/entities/plugin_entities/event.go: PluginUniversalEvent{session_id, event:"log", data: PluginLogEvent
// {level, message, timestamp float64}}); stderr only for fatal start-up errors; the level setting still filters;
// secrets never appear. Driven over stdio with the built bundle.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toLogRecord } from '../../src/shared/log.js';
import { PluginProcess, ensureBundle, invokeFrame } from '../helpers/plugin-process.js';

const started: PluginProcess[] = [];
const folders: string[] = [];

function start(env: Record<string, string> = {}): PluginProcess {
  const p = new PluginProcess({ env });
  started.push(p);
  return p;
}

beforeAll(() => ensureBundle());

afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('plugin logs over stdio', () => {
  it('sends its logs as log frames of the daemon’s shape, and nothing on stderr', async () => {
    const p = start();
    expect(await p.logIncludes('serving over stdio', 10_000)).toBe(true);
    const frame = p.frames.received.map((r) => r.frame).find((f) => f.event === 'log' && JSON.stringify(f).includes('serving over stdio'));
    expect(Object.keys(frame!).sort()).toEqual(['data', 'event', 'session_id']);
    expect(frame!.session_id).toBeNull();
    const data = frame!.data as { level: unknown; message: unknown; timestamp: unknown };
    expect(Object.keys(data).sort()).toEqual(['level', 'message', 'timestamp']);
    expect(data.level).toBe('info');
    expect(data.message).toMatch(/^serving over stdio \{"tools":\d+\}$/);
    // Unix seconds (with milliseconds as a fraction), as Python's time.time(): the daemon decodes a float64.
    expect(typeof data.timestamp).toBe('number');
    expect(Math.abs((data.timestamp as number) - Date.now() / 1000)).toBeLessThan(600);

    // A failing tool is logged at error level, with the credential value scrubbed; stderr stays silent.
    p.send(invokeFrame('boom', '__test_throw'));
    await p.frames.session('boom');
    expect(await p.logIncludes('exploded')).toBe(true);
    const errorRecord = p.logRecords().find((r) => r.message.includes('exploded'));
    expect(errorRecord?.level).toBe('error');
    expect(p.log).not.toContain('sk-test-secret-123');
    p.closeStdin();
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    expect(p.logRecords().some((r) => r.message.startsWith('shutting down'))).toBe(true);
    expect(p.stderr).toBe('');
  });

  it('still filters by level: LOG_LEVEL=warn sends warnings and errors, no info', async () => {
    const p = start({ LOG_LEVEL: 'warn' });
    // PLUGIN_TEST_HOOKS=1 makes the plugin warn at start-up.
    expect(await p.logIncludes('serving test-only __test_* tools', 10_000)).toBe(true);
    p.send(invokeFrame('boom', '__test_throw'));
    await p.frames.session('boom');
    expect(await p.logIncludes('exploded')).toBe(true);
    p.closeStdin();
    await p.stop();
    const levels = new Set(p.logRecords().map((r) => r.level));
    expect([...levels].sort()).toEqual(['error', 'warning']);
    expect(p.log).not.toContain('serving over stdio');
  });

  it('writes a fatal start-up error to stderr (and exits 1)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'log-frames-root-'));
    folders.push(empty);
    const p = new PluginProcess({ root: empty });
    started.push(p);
    expect((await p.stop(15_000)).code).toBe(1);
    expect(p.stderr).toContain('plugin stopped by an error');
    expect(JSON.parse(p.stderr.trim().split('\n').at(-1)!)).toMatchObject({ level: 60, msg: 'plugin stopped by an error' });
  });
});

describe('toLogRecord', () => {
  it('maps pino levels to the daemon’s names, keeps fields after the message, and cuts very long messages', () => {
    const line = (level: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ level, time: 1_796_000_000_123, pid: 7, hostname: 'h', msg: 'hello', ...extra });
    expect(toLogRecord(line(20))).toEqual({ level: 'debug', message: 'hello', timestamp: 1_796_000_000.123 });
    expect(toLogRecord(line(30))?.level).toBe('info');
    expect(toLogRecord(line(40))?.level).toBe('warning');
    expect(toLogRecord(line(50))?.level).toBe('error');
    expect(toLogRecord(line(60))?.level).toBe('fatal');
    expect(toLogRecord(line(30, { session: 's1', api_key: '[secret]' }))?.message).toBe('hello {"session":"s1","api_key":"[secret]"}');
    const long = toLogRecord(line(30, { blob: 'x'.repeat(100_000) }))!;
    expect(long.message.length).toBeLessThan(16_100);
    expect(long.message.endsWith('… (cut)')).toBe(true);
    expect(toLogRecord('not json')).toBeUndefined();
  });
});
