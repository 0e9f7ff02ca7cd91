// The backwards-invocation client (src/runtime/backwards.ts) and the plugin-storage client over it, driven with
// frames shaped as the daemon writes them (backwards_invocation/entities.go): routing by request id and session,
// streams of several responses, error then end, deadlines, aborts and sessions that end with a call still open.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BackwardsCallError, BackwardsCalls, BackwardsSessionClosedError, BackwardsTimeoutError } from '../../src/runtime/backwards.js';
import { PluginStorage } from '../../src/runtime/plugin-storage.js';

type Sent = { type: string; backwards_request_id: string; request: Record<string, unknown> };

function setup() {
  const calls = new BackwardsCalls(pino({ level: 'silent' }));
  const sent: { sessionId: string; call: Sent }[] = [];
  const waiters: (() => void)[] = [];
  const invoker = (sessionId: string, signal = new AbortController().signal) =>
    calls.forSession(sessionId, async (call) => {
      sent.push({ sessionId, call });
      waiters.splice(0).forEach((w) => w());
    }, signal);
  const reply = (sessionId: string, id: string, event: string, message = '', data: unknown = null) =>
    calls.route({ session_id: sessionId, event: 'backwards_response', data: { backwards_request_id: id, event, message, data } });
  /** Resolves once `n` calls have gone out. */
  const sentCount = async (n: number) => {
    while (sent.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { calls, sent, invoker, reply, sentCount };
}

describe('backwards calls', () => {
  it('routes answers that arrive out of order to the call that made them', async () => {
    const t = setup();
    const a = t.invoker('s1').call('storage', { opt: 'get', key: 'a' }, { timeoutMs: 60_000 });
    const b = t.invoker('s2').call('storage', { opt: 'get', key: 'b' }, { timeoutMs: 60_000 });
    await t.sentCount(2);
    const [ca, cb] = t.sent;
    expect(ca!.call.backwards_request_id).not.toBe(cb!.call.backwards_request_id);
    expect(ca!.call.backwards_request_id).toMatch(/^[0-9a-f]{32}$/);
    t.reply('s2', cb!.call.backwards_request_id, 'response', 'struct', { data: 'bb' });
    t.reply('s2', cb!.call.backwards_request_id, 'end');
    t.reply('s1', ca!.call.backwards_request_id, 'response', 'struct', { data: 'aa' });
    t.reply('s1', ca!.call.backwards_request_id, 'end');
    expect(await a).toEqual([{ message: 'struct', data: { data: 'aa' } }]);
    expect(await b).toEqual([{ message: 'struct', data: { data: 'bb' } }]);
    expect(t.calls.inFlight).toBe(0);
  });

  it('ignores an answer carried by another session than the caller’s, and answers for no open call', async () => {
    const t = setup();
    const a = t.invoker('s1').call('storage', { opt: 'exist', key: 'k' }, { timeoutMs: 60_000 });
    await t.sentCount(1);
    const id = t.sent[0]!.call.backwards_request_id;
    t.reply('intruder', id, 'response', 'struct', { data: 'forged' });
    t.reply('intruder', id, 'end');
    t.reply('s1', 'f'.repeat(32), 'end');
    t.reply('s1', id, 'response', 'struct', { data: true });
    t.reply('s1', id, 'end');
    expect(await a).toEqual([{ message: 'struct', data: { data: true } }]);
  });

  it('streams several responses in order and ends after end', async () => {
    const t = setup();
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const chunk of t.invoker('s1').stream('llm', { prompt: 'x' }, { timeoutMs: 60_000 })) seen.push(chunk.data);
    })();
    await t.sentCount(1);
    const id = t.sent[0]!.call.backwards_request_id;
    for (const n of [1, 2, 3]) t.reply('s1', id, 'response', 'stream', n);
    t.reply('s1', id, 'end');
    await done;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('fails with Dify’s reason on an error event', async () => {
    const t = setup();
    const a = t.invoker('s1').call('storage', { opt: 'set', key: 'k', value: '00' }, { timeoutMs: 60_000 });
    await t.sentCount(1);
    const id = t.sent[0]!.call.backwards_request_id;
    t.reply('s1', id, 'error', 'permission denied, you need to enable storage access in plugin manifest');
    t.reply('s1', id, 'end');
    await expect(a).rejects.toThrow(BackwardsCallError);
    await expect(a).rejects.toThrow('permission denied');
  });

  it('fails with BackwardsTimeoutError when no end arrives in time, and drops the late answer', async () => {
    const t = setup();
    const a = t.invoker('s1').call('storage', { opt: 'get', key: 'k' }, { timeoutMs: 20 });
    await expect(a).rejects.toThrow(BackwardsTimeoutError);
    expect(t.calls.inFlight).toBe(0);
    t.reply('s1', t.sent[0]!.call.backwards_request_id, 'end');
  });

  it('fails open calls when the session is aborted or ends', async () => {
    const t = setup();
    const controller = new AbortController();
    const aborted = t.invoker('s1', controller.signal).call('storage', { opt: 'get', key: 'k' }, { timeoutMs: 60_000 });
    const ended = t.invoker('s2').call('storage', { opt: 'get', key: 'k' }, { timeoutMs: 60_000 });
    await t.sentCount(2);
    controller.abort(new Error('connection lost'));
    t.calls.closeSession('s2', 'the session ended');
    await expect(aborted).rejects.toThrow('connection lost');
    await expect(ended).rejects.toThrow(BackwardsSessionClosedError);
    expect(t.calls.inFlight).toBe(0);
  });
});

describe('plugin storage over backwards calls', () => {
  /** A daemon-like answerer for one session. */
  function storageOf(values: Map<string, string>) {
    const t = setup();
    const storage = new PluginStorage(t.invoker('s1'));
    let answered = 0;
    const pump = async () => {
      for (;;) {
        await t.sentCount(answered + 1);
        const { call } = t.sent[answered++]!;
        const { opt, key, value } = call.request as { opt: string; key: string; value?: string };
        const id = call.backwards_request_id;
        if (opt === 'get' && !values.has(key)) t.reply('s1', id, 'error', 'load data failed, please check if the key is correct or you have not set it');
        else if (opt === 'get') t.reply('s1', id, 'response', 'struct', { data: values.get(key) });
        else if (opt === 'set') {
          values.set(key, value!);
          t.reply('s1', id, 'response', 'struct', { data: 'ok' });
        } else if (opt === 'exist') t.reply('s1', id, 'response', 'struct', { data: values.has(key), exist_num: values.has(key) ? 1 : 0 });
        t.reply('s1', id, 'end');
      }
    };
    void pump();
    return { storage, sent: t.sent };
  }

  it('hex-encodes values, reads a missing key as null (asking exist), and reads back what it set', async () => {
    const values = new Map<string, string>();
    const { storage, sent } = storageOf(values);
    const options = { timeoutMs: 60_000 };
    expect(await storage.get('ns', options)).toBeNull();
    expect(sent.map((s) => s.call.request.opt)).toEqual(['get', 'exist']);
    await storage.set('ns', 'héllo', options);
    expect(values.get('ns')).toBe(Buffer.from('héllo').toString('hex'));
    expect((await storage.get('ns', options))?.toString()).toBe('héllo');
    expect(await storage.exists('ns', options)).toBe(true);
  });

  it('refuses keys the daemon would refuse', async () => {
    const { storage } = storageOf(new Map());
    await expect(storage.get('../etc', { timeoutMs: 1000 })).rejects.toThrow('not allowed');
    await expect(storage.get('x'.repeat(300), { timeoutMs: 1000 })).rejects.toThrow('not allowed');
  });
});
