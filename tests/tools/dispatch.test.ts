import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseCredentials } from '../../src/memory/config/credentials.js';
import { ServicesCache } from '../../src/tools/dispatch.js';
import { notBuiltServices } from '../../src/tools/not-built.js';
import type { MemoryServices } from '../../src/memory/api.js';
import { createApp } from '../../src/app/app.js';
import type { ToolMessage } from '../../src/runtime/contract.js';
import { eventually } from '../helpers/fake-providers.js';
import { hold } from '../helpers/hold.js';
import { session } from '../helpers/session.js';
import { CREDENTIALS } from './fixtures.js';
import { declarations, invoke, recordingServices } from './harness.js';

function settingsFor(model: string) {
  return parseCredentials({ ...CREDENTIALS, local_llm_json_secret: JSON.stringify({ provider: 'openai', config: { model } }) });
}

describe('credentials during a tool call', () => {
  it('bad credentials answer ERROR naming the field, without the secret', async () => {
    const answer = await invoke('search_memory', { query: 'q', user_id: 'u' }, {}, { local_llm_json_secret: '{"provider": "openai", "config": {"api_key": "sk-HIDDEN"', local_embedder_json_secret: CREDENTIALS.local_embedder_json_secret });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toBe(`search_memory: the plugin's credentials are invalid: local_llm_json_secret: not valid JSON (it ends too early: is a closing } or " missing?)`);
    expect(JSON.stringify(answer.raw)).not.toContain('sk-HIDDEN');
  });

  it('parameters are checked before credentials', async () => {
    const answer = await invoke('search_memory', { user_id: 'u' }, {}, {});
    expect(answer.messages).toBe('search_memory: query is required');
  });

  it('PLUGIN_LANGUAGE (through the language option) wins over the request text', async () => {
    const answer = await invoke('get_all_memories', { user_id: '张三' }, { language: () => 'pt_BR' });
    expect(answer.messages).toBe('get_all_memories: o armazenamento de memórias ainda não está disponível nesta versão');
  });

  it('a credential set whose services take longer to open than the call\'s timeout answers TIMEOUT in time', async () => {
    const opening = hold();
    const order: string[] = [];
    const slow = async (): Promise<MemoryServices> => {
      await opening.released;
      order.push('opened');
      return recordingServices().factory();
    };
    const app = createApp(declarations(), { language: () => undefined, services: slow });
    try {
      const request = { provider: 'mem0ai', tool: 'search_memory', toolParameters: { query: 'q', user_id: 'u', timeout: 1 }, credentials: CREDENTIALS };
      const messages: ToolMessage[] = [];
      for await (const message of app.invokeTool(request, session())) messages.push(message);
      // Answered while the services were still opening (they would have, and the search answered SUCCESS, had
      // the opening not counted against the call's deadline).
      expect(order).toEqual([]);
      const json = messages.find((m) => m.type === 'json');
      expect(json?.type === 'json' && json.message.json_object).toMatchObject({ status: 'TIMEOUT' });
      // Closing the app lets the opening finish first, so what it opened gets closed.
      const closing = app.close().then(() => order.push('closed'));
      await new Promise((resolve) => setImmediate(resolve));
      opening.release();
      await closing;
      expect(order).toEqual(['opened', 'closed']);
    } finally {
      opening.release();
    }
  });

  it('logs the tool, status and run_id, not the parameters', async () => {
    const lines: string[] = [];
    const app = createApp(declarations(), { language: () => undefined, services: notBuiltServices });
    const context = { ...session(), logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }) };
    const request = { provider: 'mem0ai', tool: 'add_memory', toolParameters: { user: 'my password is swordfish', user_id: 'u', run_id: 'run-7' }, credentials: CREDENTIALS };
    for await (const _ of app.invokeTool(request, context)) void _;
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ tool: 'add_memory', status: 'ERROR', run_id: 'run-7', msg: 'tool finished' });
    expect(lines[0]).not.toContain('swordfish');
    expect(lines[0]).not.toContain('sk-test');
  });
});

describe('ServicesCache', () => {
  function counting() {
    const made: string[] = [];
    const closed: string[] = [];
    const factory = (settings: { hash: string }): MemoryServices => {
      made.push(settings.hash);
      return { ...notBuiltServices(), close: async () => void closed.push(settings.hash) };
    };
    return { made, closed, cache: new ServicesCache(factory) };
  }

  it('builds services once per credential set and reuses them', async () => {
    const { made, cache } = counting();
    const a = settingsFor('a');
    const first = await cache.use(a, async (services) => services);
    expect(await cache.use(settingsFor('a'), async (services) => services)).toBe(first);
    await cache.use(settingsFor('b'), async (services) => services);
    expect(made).toEqual([a.hash, settingsFor('b').hash]);
  });

  it('closes the least recently used set beyond 8, and everything on close', async () => {
    const { closed, cache } = counting();
    const sets = Array.from({ length: 10 }, (_, index) => settingsFor(`m${index}`));
    await cache.use(sets[0]!, async (services) => services);
    for (const settings of sets.slice(1, 8)) await cache.use(settings, async (services) => services);
    await cache.use(sets[0]!, async (services) => services); // m0 is now the most recently used
    await cache.use(sets[8]!, async (services) => services);
    await cache.use(sets[9]!, async (services) => services);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual([sets[1]!.hash, sets[2]!.hash]);
    await cache.close();
    expect(closed).toHaveLength(10);
  });

  it('app.close() waits for a running call before closing its services', async () => {
    const events: string[] = [];
    const gate = hold();
    let callStarted = false;
    const recorder = recordingServices();
    const factory = (): MemoryServices => {
      const services = recorder.factory();
      return {
        ...services,
        memories: {
          ...services.memories,
          getAll: async (input, options) => {
            callStarted = true;
            await gate.released;
            events.push('call finished');
            return services.memories.getAll(input, options);
          },
        },
        close: async () => void events.push('closed'),
      };
    };
    const app = createApp(declarations(), { services: factory, language: () => undefined });
    const request = { provider: 'mem0ai', tool: 'get_all_memories', toolParameters: { user_id: 'u' }, credentials: CREDENTIALS };
    const running = (async () => {
      for await (const message of app.invokeTool(request, session())) if (message.type === 'json') return message.message.json_object;
      return null;
    })();
    await eventually(() => callStarted, 20_000, 5); // the call is inside its services, held at the gate
    const closing = app.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual([]);
    gate.release();
    await closing;
    expect(events).toEqual(['call finished', 'closed']);
    expect(await running).toMatchObject({ status: 'SUCCESS' });
  });

  it('a factory that fails is retried on the next call, and the failure is the tool answer', async () => {
    let attempts = 0;
    const recorder = recordingServices();
    const factory = () => {
      attempts += 1;
      if (attempts === 1) throw new Error('pool exhausted for postgres://u:pw@h/db');
      return recorder.factory();
    };
    const app = createApp(declarations(), { services: factory, language: () => undefined });
    const request = { provider: 'mem0ai', tool: 'get_all_memories', toolParameters: { user_id: 'u' }, credentials: CREDENTIALS };
    const answers: Record<string, unknown>[] = [];
    for (let round = 0; round < 2; round += 1) {
      for await (const message of app.invokeTool(request, session())) if (message.type === 'json') answers.push(message.message.json_object);
    }
    expect(answers.map((answer) => answer.status)).toEqual(['ERROR', 'SUCCESS']);
    expect(answers[0]).toMatchObject({ messages: 'get_all_memories: internal error: Error: pool exhausted for postgres://[secret]@h/db (more in the plugin log)', results: [] });
    expect(attempts).toBe(2);
  });
});
