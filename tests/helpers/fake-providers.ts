/**
 * Fakes of the external services the queue's handlers call (LLM, embedder), scripted per test. The database is
 * never faked: every queue test runs on the real store (PGlite, and PostgreSQL when TEST_DATABASE_URL is set).
 */
import { createHash } from 'node:crypto';
import { EngineError } from '../../src/shared/errors.js';
import type { ChatMessage, Providers } from '../../src/memory/providers.js';
import { DIMS } from '../store/backends.js';

/** A deterministic unit vector from the words of a text (texts sharing words are near). */
export function embedText(text: string): number[] {
  const v = Array.from({ length: DIMS }, () => 0);
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    const h = createHash('md5').update(word).digest();
    v[h[0]! % DIMS]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => (x === 0 && norm === 1 ? 1 / Math.sqrt(DIMS) : x / norm));
}

export interface FakeProviders extends Providers {
  llmCalls: number;
  embedCalls: number;
  /** Answers the LLM gives: a function of the messages; throw an EngineError to fail a call. */
  answer: (messages: ChatMessage[]) => string | Promise<string>;
  /** Fails the embedder with this error while set. */
  embedFailure: EngineError | null;
  embedDelayMs: number;
  /** While set, an embedding of these texts waits for what it returns to settle (or for its call's abort), e.g. a
   *  test's `hold().released`; undefined lets it through. */
  embedHold: ((texts: readonly string[]) => Promise<unknown> | undefined) | null;
}

/** Fact extraction answers the user's line as the one fact; reconciliation adds every new fact. */
export function echoFacts(messages: ChatMessage[]): string {
  const last = messages.at(-1)?.content ?? '';
  const facts = /New facts:\n(.*)$/s.exec(last);
  if (facts?.[1]) {
    const list = JSON.parse(facts[1]) as string[];
    return JSON.stringify({ actions: list.map((text) => ({ event: 'ADD', text })) });
  }
  const user = /^user:\s*(.+)$/im.exec(last)?.[1]?.trim() ?? '';
  return JSON.stringify({ facts: user ? [user] : [] });
}

export function fakeProviders(): FakeProviders {
  const fake: FakeProviders = {
    llmCalls: 0,
    embedCalls: 0,
    answer: echoFacts,
    embedFailure: null,
    embedDelayMs: 0,
    embedHold: null,
    llm: {
      provider: 'fake',
      async completeJson(messages, options) {
        fake.llmCalls += 1;
        if (options?.signal?.aborted) throw new EngineError('timeout', 'aborted');
        return fake.answer(messages);
      },
    },
    embedder: {
      provider: 'fake',
      dims: DIMS,
      async embed(text, _action, options) {
        return (await fake.embedder.embedBatch([text], 'add', options))[0]!;
      },
      async embedBatch(texts, _action, options) {
        fake.embedCalls += 1;
        if (fake.embedDelayMs > 0) await abortableSleep(fake.embedDelayMs, options?.signal);
        const held = fake.embedHold?.(texts);
        if (held) await abortableWait(held, options?.signal);
        if (fake.embedFailure) throw fake.embedFailure;
        return texts.map(embedText);
      },
    },
    reranker: null,
  };
  return fake;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return abortableWait(new Promise((resolve) => (timer = setTimeout(resolve, ms))), signal).finally(() => clearTimeout(timer));
}

/** Waits for `until` to settle; rejects as a timeout at once when `signal` aborts first. */
function abortableWait(until: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      reject(new EngineError('timeout', 'aborted'));
    }
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void until.then(done, done);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
