import { beforeAll, describe, expect, it } from 'vitest';
import { mayHaveNewMessages } from '../../../src/jobs/extraction/checkpoint.js';
import type { ConversationCheckpoint } from '../../../src/store/extraction-checkpoints.js';
import type { ExtractionLlm } from '../../../src/jobs/extraction/classify.js';
import { processConversation } from '../../../src/jobs/extraction/conversation.js';
import type { MemoryWriter } from '../../../src/jobs/extraction/conversation.js';
import { DifyClient } from '../../../src/jobs/extraction/dify-client.js';
import type { PromptMessage } from '../../../src/jobs/extraction/prompts.js';
import { ConversationScan } from '../../../src/jobs/extraction/scan.js';
import { loadTokenizer, tokenCap } from '../../../src/jobs/extraction/tokens.js';
import type { Tokenizer } from '../../../src/jobs/extraction/tokens.js';
import { extractionWindow } from '../../../src/jobs/extraction/window.js';
import type { Llm } from '../../../src/memory/providers.js';
import type { MemoryService } from '../../../src/memory/service.js';
import { sampleTurns } from '../../helpers/fake-dify.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';

// The engine's pieces must plug in as they are: these lines stop compiling if the shapes drift apart.
const _engineLlmFits = (llm: Llm): ExtractionLlm => llm;
const _engineAddFits = (service: MemoryService): MemoryWriter => service;
void _engineLlmFits;
void _engineAddFits;

const APP = 'app-conv';
const KEY = 'app-convKEY';
const clock = () => new Date('2026-06-15T09:00:00Z');
const window = extractionWindow(1, { timeZone: 'Europe/Berlin', now: clock });

/** Answers classification by the first user line; stands in for the LLM provider (an external service). */
class KeywordLlm implements ExtractionLlm {
  calls = 0;
  async completeJson(messages: PromptMessage[]): Promise<string> {
    this.calls += 1;
    const text = messages.at(-1)!.content;
    if (text.includes('bullet lists') || text.includes('先给结论')) return '```json\n{"type":"PROCEDURAL","reason":"answer style"}\n```';
    if (text.includes('成都') || text.includes('Lisbon')) return '{"type":"EPISODIC","reason":"a move or trip"}';
    if (text.includes('weather')) return '{"type":"NONE","reason":"small talk"}';
    return '{"type":"SEMANTIC","reason":"facts"}';
  }
}

/** Records what would reach the engine's add. */
class RecordingWriter implements MemoryWriter {
  readonly adds: Parameters<MemoryWriter['add']>[0][] = [];
  async add(input: Parameters<MemoryWriter['add']>[0]) {
    this.adds.push(input);
    return [{ event: 'ADD' }, { event: 'ADD' }, { event: 'UPDATE' }];
  }
}

const dify = useFakeDify();
let tokenizer: Tokenizer;
beforeAll(async () => {
  dify.addApp(APP, KEY);
  tokenizer = await loadTokenizer();
});

describe('processConversation', () => {
  it('reads, classifies and extracts with the kind’s focus and metadata, in the conversation’s language', async () => {
    const zh = dify.addConversation(APP, 'lin', { start: window.startSec + 3600, turns: sampleTurns('zh', 3) });
    const llm = new KeywordLlm();
    const memory = new RecordingWriter();
    const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY });
    const outcome = await processConversation(
      { dify: client, llm, memory, tokenizer },
      { user: 'lin', appId: APP, runId: 'run-1', conversation: zh, window, checkpoint: null, maxTokens: tokenCap(64) },
    );
    expect(outcome).toMatchObject({ kind: 'EPISODIC', newMessages: 3, processedMessages: 3, droppedMessages: 0, pages: 1, events: { ADD: 2, UPDATE: 1 } });
    expect(outcome.checkpoint).toEqual({ last_processed_message_id: zh.messages[2]!.id, processed_range_start: window.startSec, processed_range_end: window.endSec });
    expect(memory.adds).toHaveLength(1);
    const add = memory.adds[0]!;
    expect(add).toMatchObject({ userId: 'lin', agentId: APP, runId: 'run-1', metadata: { memory_subtype: 'episodic', memory_origin: 'implicit' } });
    expect(add.messages[0]).toEqual({ role: 'user', content: zh.messages[0]!.query });
    expect(add.focus).toMatch(/\(Chinese\)/);
    expect(llm.calls).toBe(1);
  });

  it('writes nothing for NONE, and nothing at all on a second run the same day', async () => {
    const chat = dify.addConversation(APP, 'sam', { start: window.startSec + 7200, turns: [{ query: 'How is the weather today?', answer: 'Sunny.' }] });
    const llm = new KeywordLlm();
    const memory = new RecordingWriter();
    const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY });
    const deps = { dify: client, llm, memory, tokenizer };
    const job = { user: 'sam', appId: APP, conversation: chat, window, maxTokens: tokenCap(64) };
    const first = await processConversation(deps, { ...job, checkpoint: null });
    expect(first.kind).toBe('NONE');
    expect(memory.adds).toHaveLength(0);
    const second = await processConversation(deps, { ...job, checkpoint: first.checkpoint });
    expect(second).toMatchObject({ kind: null, pages: 0, newMessages: 0 });
    expect(llm.calls).toBe(1);
    expect(client.stats().requests).toBe(1);
  });

  it('sends only the newest messages that fit the cap, and marks the rest as read', async () => {
    const long = dify.addConversation(APP, 'kai', { start: window.startSec + 60, step: 60, turns: sampleTurns('en', 600) });
    const memory = new RecordingWriter();
    const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY });
    const outcome = await processConversation(
      { dify: client, llm: new KeywordLlm(), memory, tokenizer },
      { user: 'kai', appId: APP, conversation: long, window, checkpoint: null, maxTokens: tokenCap(2) },
    );
    expect(outcome.tokens).toBeLessThanOrEqual(2000);
    expect(outcome.processedMessages).toBeGreaterThan(10);
    // Paging stopped once the cap was full: not all 6 pages were read.
    expect(outcome.pages).toBeLessThan(6);
    const sent = memory.adds[0]!.messages;
    expect(sent.at(-1)!.content).toBe(long.messages.at(-1)!.answer);
    expect(outcome.checkpoint.processed_range_start).toBe(window.startSec);
  });
});

describe('a sample run', () => {
  it('costs few Dify calls per processed message', async () => {
    // Five users, each with a month of history: 3 conversations a day, 6 exchanges each, English and Chinese.
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    for (const [n, user] of users.entries()) {
      for (let day = 0; day < 30; day++) {
        for (let k = 0; k < 3; k++) {
          dify.addConversation(APP, user, {
            start: window.endSec - (day + 1) * 86_400 + 600 + k * 4 * 3600 + n * 60,
            step: 90,
            turns: sampleTurns((day + k) % 2 ? 'zh' : 'en', 6),
          });
        }
      }
    }
    const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY });
    const llm = new KeywordLlm();
    const memory = new RecordingWriter();
    const checkpoints = new Map<string, ConversationCheckpoint>();
    let processed = 0;
    const runFor = async (w: typeof window) => {
      for (const user of users) {
        const skip = (c: { id: string; created_at: number; updated_at: number }) => !mayHaveNewMessages(c, w, checkpoints.get(c.id));
        for await (const conversation of new ConversationScan(client, { user, window: w, limit: 20, skip })) {
          const outcome = await processConversation(
            { dify: client, llm, memory, tokenizer },
            { user, appId: APP, conversation, window: w, checkpoint: checkpoints.get(conversation.id), maxTokens: tokenCap(64) },
          );
          processed += outcome.processedMessages;
          checkpoints.set(conversation.id, outcome.checkpoint);
        }
      }
    };
    await runFor(window);
    // Per user: 1 conversation page + 3 message pages; 18 processed messages.
    expect(processed).toBe(5 * 18);
    expect(client.stats().requests).toBe(5 * 4);
    expect(client.stats().requests / processed).toBeCloseTo(0.222, 2);

    // Same day, a week-long window: 21 conversations per user are inside; yesterday's 3 are passed over without a
    // call and without using the limit (20), the 18 older ones cost one message page each.
    const before = client.stats().requests;
    const week = extractionWindow(7, { timeZone: 'Europe/Berlin', now: clock });
    processed = 0;
    await runFor(week);
    expect(processed).toBe(5 * 18 * 6);
    const calls = client.stats().requests - before;
    expect(calls).toBe(5 * (1 + 18));
    expect(calls / processed).toBeCloseTo(0.176, 2);
  });
});
