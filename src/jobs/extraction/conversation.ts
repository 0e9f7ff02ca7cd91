/**
 * One conversation, start to end: read its new messages, cap them to the newest that fit, classify, extract through
 * the memory engine's add path, and compute the checkpoint to store. This is the unit the worker pool runs per
 * conversation; it touches no storage itself (the caller saves the returned checkpoint after it resolves).
 * @module
 */
import type { ConversationCheckpoint } from '../../store/extraction-checkpoints.js';
import type { SecondsWindow } from './checkpoint.js';
import { advanceCheckpoint } from './checkpoint.js';
import type { ExtractionLlm } from './classify.js';
import { classifyConversation } from './classify.js';
import type { DifyConversation } from './dify-client.js';
import type { MemoryKind } from './prompts.js';
import { extractionFocus, extractionMetadata } from './prompts.js';
import type { DifyReader } from './scan.js';
import { readNewMessages } from './scan.js';
import type { ConversationTurn, TokenCounts, Tokenizer } from './tokens.js';
import { capNewest, tokenBudget } from './tokens.js';

/**
 * The engine's add as extraction calls it; `MemoryService.add` (src/memory/service.ts) fits this shape.
 * `agentId` is the Dify app id.
 */
export interface MemoryWriter {
  add(input: {
    userId: string;
    agentId: string;
    runId?: string | null | undefined;
    messages: ConversationTurn[];
    metadata: Record<string, unknown>;
    focus: string;
    signal?: AbortSignal | undefined;
  }): Promise<ReadonlyArray<{ event: string }>>;
}

export interface ConversationDeps {
  dify: DifyReader;
  llm: ExtractionLlm;
  memory: MemoryWriter;
  tokenizer: Tokenizer;
}

export interface ConversationJob {
  user: string;
  appId: string;
  runId?: string | null | undefined;
  /** As listed (with `created_at`/`updated_at`, an inactive conversation costs no call). */
  conversation: Pick<DifyConversation, 'id'> & Partial<Pick<DifyConversation, 'created_at' | 'updated_at'>>;
  window: SecondsWindow;
  checkpoint?: ConversationCheckpoint | null | undefined;
  /** Token cap in tokens (`tokenCap(max_tokens_per_conversation)`). */
  maxTokens: number;
  signal?: AbortSignal | undefined;
}

export interface ConversationOutcome {
  /** Null when there was nothing new to classify. */
  kind: MemoryKind | null;
  /** Message pages requested from Dify. */
  pages: number;
  /** Messages Dify returned (new or not). */
  scannedMessages: number;
  newMessages: number;
  /** New messages that went to the LLM (the rest were older than the token cap allowed). */
  processedMessages: number;
  droppedMessages: number;
  tokens: number;
  /** Memory changes by event (ADD/UPDATE/DELETE). */
  events: Record<string, number>;
  /** What to store for this conversation once the outcome is accepted. */
  checkpoint: ConversationCheckpoint;
}

export async function processConversation(deps: ConversationDeps, job: ConversationJob): Promise<ConversationOutcome> {
  const counts: TokenCounts = new Map();
  const read = await readNewMessages(deps.dify, {
    user: job.user,
    conversation: job.conversation,
    window: job.window,
    checkpoint: job.checkpoint,
    enough: tokenBudget(job.maxTokens, deps.tokenizer, counts),
    signal: job.signal,
  });
  const capped = capNewest(read.messages, job.maxTokens, deps.tokenizer, counts);
  const outcome: ConversationOutcome = {
    kind: null,
    pages: read.pages,
    scannedMessages: read.seen,
    newMessages: read.messages.length,
    processedMessages: capped.keptMessages,
    droppedMessages: capped.droppedMessages,
    tokens: capped.tokens,
    events: {},
    checkpoint: advanceCheckpoint(job.checkpoint, job.window, read.messages),
  };
  if (capped.turns.length === 0) return outcome;

  const { kind } = await classifyConversation(deps.llm, capped.turns, { signal: job.signal });
  outcome.kind = kind;
  if (kind === 'NONE') return outcome;

  const events = await deps.memory.add({
    userId: job.user,
    agentId: job.appId,
    runId: job.runId,
    messages: capped.turns,
    metadata: extractionMetadata(kind),
    focus: extractionFocus(kind, capped.turns),
    signal: job.signal,
  });
  for (const { event } of events) outcome.events[event] = (outcome.events[event] ?? 0) + 1;
  return outcome;
}
