/**
 * What the orchestration tests share: a store (PGlite, or PostgreSQL when TEST_DATABASE_URL is set), the real
 * MemoryService over it with the real openai providers against the loopback fake OpenAI, the loopback fake Dify, and
 * a scripted LLM that answers each of the three prompts (classification, fact extraction, reconciliation) the way a
 * model would: every user line becomes one fact, every new fact is added.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { DifyClient } from '../../../src/jobs/extraction/dify-client.js';
import { ExtractionOrchestrator } from '../../../src/jobs/extraction/orchestrator.js';
import type { OrchestratorOptions, TaskRequest } from '../../../src/jobs/extraction/orchestrator.js';
import type { Providers } from '../../../src/memory/providers.js';
import { MemoryService } from '../../../src/memory/service.js';
import { storeRepository } from '../../../src/memory/store-repository.js';
import type { Store, StoreConfig } from '../../../src/store/index.js';
import type { ChatReply, ChatRequestBody, FakeOpenAI } from '../../helpers/fake-openai.js';
import type { FakeDify, TurnText } from '../../helpers/fake-dify.js';
import { providersOn } from '../../helpers/providers-on-fake.js';
import type { Backend } from '../../store/backends.js';

export const DAY = 86_400;
/** "Today" of every test: 10:00 UTC; yesterday's window is [2026-10-19T00:00Z, 2026-10-20T00:00Z). */
export const TODAY = new Date('2026-10-20T10:00:00Z');
export const MIDNIGHT = Date.parse('2026-10-20T00:00:00Z') / 1000;

/** A clock tests can move. */
export class Clock {
  constructor(public t = TODAY.getTime()) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** The scripted model: what it was asked, and hooks to slow or stop it. */
export class ScriptedLlm {
  classifications = 0;
  /** User lines handed to fact extraction, in order: proves what was (and was not) extracted. */
  readonly extracted: string[] = [];
  /** Called on every classification (before answering); may return a reply to use instead (e.g. a delay). */
  onClassify: ((n: number, body: ChatRequestBody) => ChatReply | undefined) | undefined;
  /** Systems prompts seen, for the language checks. */
  readonly focus: string[] = [];

  handler = (body: ChatRequestBody): ChatReply => {
    const system = body.messages[0]?.content ?? '';
    const last = body.messages.at(-1)?.content ?? '';
    if (system.startsWith('You sort a conversation')) {
      this.classifications += 1;
      const special = this.onClassify?.(this.classifications, body);
      const answer = JSON.stringify({ type: 'SEMANTIC', reason: 'facts about the user' });
      return special ?? answer;
    }
    if (system.startsWith('You keep long-term notes')) {
      this.focus.push(system);
      const facts = last.split('\n').filter((l) => l.startsWith('user: ')).map((l) => l.slice('user: '.length));
      this.extracted.push(...facts);
      return JSON.stringify({ facts });
    }
    if (system.startsWith('You maintain')) {
      const facts = JSON.parse(last.split('New facts:\n')[1] ?? '[]') as string[];
      return JSON.stringify({ actions: facts.map((text) => ({ event: 'ADD', text })) });
    }
    return { status: 400, error: 'unexpected prompt' };
  };
}

export interface World {
  /** The test's collection, to open a second store on it (another "process"). */
  config: StoreConfig;
  store: Store;
  /** The real openai providers against the fake. */
  providers: Providers;
  service: MemoryService;
  app: string;
  key: string;
  llm: ScriptedLlm;
  clock: Clock;
  orchestrator(options?: Partial<OrchestratorOptions>, store?: Store): ExtractionOrchestrator;
  request(over?: Partial<TaskRequest>): TaskRequest;
  /** The memories of a user in the test's app. */
  memories(user: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Unique texts per tag: `"<tag> fact <i>"`. */
export const turns = (tag: string, n: number): TurnText[] =>
  Array.from({ length: n }, (_, i) => ({ query: `${tag} fact ${i}`, answer: `noted ${i}` }));

export async function makeWorld(backend: Backend, dify: FakeDify, openai: FakeOpenAI): Promise<World> {
  const config = await backend.freshConfig();
  const store = await backend.open(config);
  const providers = await providersOn(openai, 30_000);
  const services = new Map<Store, MemoryService>();
  const serviceFor = (s: Store) => {
    let svc = services.get(s);
    if (!svc) services.set(s, (svc = new MemoryService({ repository: storeRepository(s), providers })));
    return svc;
  };
  const service = serviceFor(store);
  const app = `app-${randomBytes(4).toString('hex')}`;
  const key = `key-${randomBytes(8).toString('hex')}`;
  dify.addApp(app, key);
  const llm = new ScriptedLlm();
  openai.onChat(llm.handler);
  const clock = new Clock();
  const opened: ExtractionOrchestrator[] = [];
  const extra: Store[] = [];
  return {
    config, store, providers, service, app, key, llm, clock,
    orchestrator(options = {}, on = store) {
      if (on !== store) extra.push(on);
      const o = new ExtractionOrchestrator({
        pool: on.database.pool,
        tables: on.tables,
        databaseKind: on.database.kind,
        memory: serviceFor(on),
        llm: providers.llm,
        timeZone: 'UTC',
        now: clock.now,
        difyClient: (opts) => new DifyClient({ ...opts, retries: 1, backoffBaseMs: 1, backoffMaxMs: 5 }),
        ...options,
      });
      opened.push(o);
      return o;
    },
    request: (over = {}) => ({
      userIds: ['ana'], appId: app, daysBack: 1, conversationsLimit: 20, maxTokensPerConversationK: 64, timeBudgetMinutes: 60,
      difyBaseUrl: dify.baseUrl, difyApiKey: key, ...over,
    }),
    async memories(user) {
      return (await service.getAll({ userId: user, agentId: app, limit: 1000 })).map((m) => m.memory).sort();
    },
    async close() {
      for (const o of opened) await o.close(2000);
      for (const s of extra) await s.close();
      await store.close();
    },
  };
}

/** Polls until `check` is true (or fails after `ms`). */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The pool of a store, for arranging fixtures the way another program would. */
export function poolOf(store: Store): pg.Pool {
  return store.database.pool;
}
