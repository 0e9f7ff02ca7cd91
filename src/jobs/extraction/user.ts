/**
 * One user of one app, start to end, without storage: given the user's stored checkpoint, scan their conversations
 * in the window, process each one, and return counts, a per-user status, and the checkpoint to store. The worker
 * pool runs this for up to five users at a time; it loads the checkpoint before and saves the result after.
 *
 * Failure rules: a rejected key (401/403) stops the user with a clear message (the task goes on with other users);
 * Dify still failing after retries stops the user too (it is unhealthy, asking again per conversation would only
 * burn the budget); a conversation that fails on its own (deleted meanwhile, LLM or engine error, unreadable
 * classification) is counted and left unadvanced, so a later run tries it again. Progress made before any stop is
 * kept in the returned checkpoint.
 * @module
 */
import type { SecondsWindow } from './checkpoint.js';
import { emptyUserCounts, USER_COUNT_KEYS } from '../../store/extraction-tasks.js';
import type { UserCounts, UserStatus } from '../../store/extraction-tasks.js';
import type { UserCheckpoint } from '../../store/extraction-checkpoints.js';
import { mayHaveNewMessages } from './checkpoint.js';
import type { ConversationDeps } from './conversation.js';
import { processConversation } from './conversation.js';
import { DifyAuthError, DifyNotFoundError, DifyUpstreamError } from './dify-client.js';
import type { MemoryKind } from './prompts.js';
import type { ResumeCursor } from './scan.js';
import { ConversationScan, resumeWindow } from './scan.js';

export function emptyUserCheckpoint(): UserCheckpoint {
  return { conversations: {}, resume_conversation_cursor: null, resume_run_at: null, resume_start_time: null, resume_end_time: null };
}

/** The resume cursor a stored checkpoint holds, if any. */
export function storedCursor(checkpoint: UserCheckpoint | null | undefined): ResumeCursor | null {
  if (!checkpoint?.resume_conversation_cursor || !checkpoint.resume_start_time || !checkpoint.resume_end_time) return null;
  const start = Date.parse(checkpoint.resume_start_time);
  const end = Date.parse(checkpoint.resume_end_time);
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return null;
  return { conversation_id: checkpoint.resume_conversation_cursor, window_start: start / 1000, window_end: end / 1000 };
}

export type UserStopReason =
  /** Every conversation in the window was handled. */
  | 'completed'
  /** `conversations_limit` reached; a resume cursor was stored. */
  | 'conversations_limit'
  /** The deadline passed before all conversations were handled; a resume cursor was stored. */
  | 'time_budget'
  /** Nothing in the window needed reading. */
  | 'nothing_new'
  /** The key was refused. */
  | 'auth'
  /** Dify kept failing. */
  | 'upstream'
  /** Several conversations in a row failed (e.g. the LLM or the store is down); the rest would fail the same way. */
  | 'failures'
  /** The caller's signal fired. */
  | 'aborted';

export interface UserRunOptions {
  user: string;
  appId: string;
  runId?: string | null | undefined;
  /** Today's window (a stored resume cursor widens it to the interrupted run's window). */
  window: SecondsWindow;
  conversationsLimit: number;
  /** Tokens per conversation (`tokenCap(max_tokens_per_conversation)`). */
  maxTokens: number;
  checkpoint: UserCheckpoint | null | undefined;
  /** No conversation is started after this instant (ms since epoch). */
  deadline?: number | undefined;
  now?: (() => Date) | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Called after each conversation that was handled successfully, with the checkpoint so far (the conversations
   * advanced; the resume fields as stored before the run). The orchestration saves it, so a process that dies
   * mid-user keeps what was done. A rejection stops the user and is rethrown by {@link extractUser}.
   */
  onProgress?: ((checkpoint: UserCheckpoint) => Promise<void>) | undefined;
}

/** The counts alone, out of anything that carries them. */
export function userCounts(from: UserCounts): UserCounts {
  const counts = emptyUserCounts();
  for (const key of USER_COUNT_KEYS) counts[key] = from[key];
  return counts;
}

export interface UserRunResult extends UserCounts {
  user: string;
  status: UserStatus;
  stop_reason: UserStopReason;
  /** Why the user failed or stopped early, for the report; never contains secrets. */
  error: string | null;
  kinds: Partial<Record<MemoryKind, number>>;
  /** What to store for this user+app (always, also after a failure: it keeps the progress made). */
  checkpoint: UserCheckpoint;
}

/** After this many conversations failing one after another, the user stops. */
export const MAX_FAILURES_IN_A_ROW = 3;

export async function extractUser(deps: ConversationDeps, options: UserRunOptions): Promise<UserRunResult> {
  const now = options.now ?? (() => new Date());
  const previous = options.checkpoint ?? emptyUserCheckpoint();
  const conversations = { ...previous.conversations };
  const resume = storedCursor(previous);
  const window = resumeWindow(resume, options.window);
  const result: UserRunResult = {
    user: options.user,
    status: 'SUCCESS',
    stop_reason: 'completed',
    error: null,
    ...emptyUserCounts(),
    kinds: {},
    checkpoint: previous,
  };
  const scan = new ConversationScan(deps.dify, {
    user: options.user,
    window,
    limit: options.conversationsLimit,
    resume,
    skip: (c) => !mayHaveNewMessages(c, window, conversations[c.id]),
    signal: options.signal,
  });
  let cursor: ResumeCursor | null = null;
  let lastHandled: string | null = null;
  let failedInARow = 0;
  /** The last conversation handled before the current run of failures began. */
  let beforeFailures: string | null = null;
  try {
    for await (const conversation of scan) {
      if (options.deadline !== undefined && now().getTime() >= options.deadline) {
        result.stop_reason = 'time_budget';
        if (lastHandled) cursor = { conversation_id: lastHandled, window_start: window.startSec, window_end: window.endSec };
        else cursor = resume;
        break;
      }
      result.scanned_conversations += 1;
      try {
        const outcome = await processConversation(deps, {
          user: options.user,
          appId: options.appId,
          runId: options.runId,
          conversation,
          window,
          checkpoint: conversations[conversation.id],
          maxTokens: options.maxTokens,
          signal: options.signal,
        });
        conversations[conversation.id] = outcome.checkpoint;
        result.scanned_messages += outcome.scannedMessages;
        result.processed_messages += outcome.processedMessages;
        if (outcome.kind) {
          result.processed_conversations += 1;
          result.kinds[outcome.kind] = (result.kinds[outcome.kind] ?? 0) + 1;
        }
        for (const n of Object.values(outcome.events)) result.written_memories += n;
        failedInARow = 0;
      } catch (error) {
        if (options.signal?.aborted || error instanceof DifyAuthError || error instanceof DifyUpstreamError) throw error;
        if (failedInARow === 0) beforeFailures = lastHandled;
        result.failed_conversations += 1;
        failedInARow += 1;
        result.error ??= conversationFailure(conversation.id, error);
      }
      lastHandled = conversation.id;
      if (failedInARow === 0 && options.onProgress) await options.onProgress({ ...previous, conversations: { ...conversations } });
      if (failedInARow >= MAX_FAILURES_IN_A_ROW) {
        // Resume before the failures, so the next run tries those conversations again first.
        result.stop_reason = 'failures';
        cursor = beforeFailures ? { conversation_id: beforeFailures, window_start: window.startSec, window_end: window.endSec } : resume;
        break;
      }
    }
    if (result.stop_reason === 'completed') {
      cursor = scan.nextCursor();
      if (cursor) result.stop_reason = 'conversations_limit';
    }
  } catch (error) {
    if (options.signal?.aborted) {
      result.stop_reason = 'aborted';
      result.error = 'stopped: the task was cancelled or ran out of time';
    } else if (error instanceof DifyAuthError) {
      result.stop_reason = 'auth';
      result.error = error.message;
    } else if (error instanceof DifyUpstreamError || error instanceof DifyNotFoundError) {
      result.stop_reason = 'upstream';
      result.error = error.message;
    } else {
      throw error;
    }
    // Keep what was done; a later run continues after the last conversation handled, over the same window.
    cursor = lastHandled ? { conversation_id: lastHandled, window_start: window.startSec, window_end: window.endSec } : resume;
  }

  result.checkpoint = {
    conversations,
    resume_conversation_cursor: cursor?.conversation_id ?? null,
    resume_run_at: cursor ? (cursor === resume ? previous.resume_run_at : now().toISOString()) : null,
    resume_start_time: cursor ? new Date(cursor.window_start * 1000).toISOString() : null,
    resume_end_time: cursor ? new Date(cursor.window_end * 1000).toISOString() : null,
  };
  result.status = statusOf(result);
  return result;
}

function statusOf(r: UserRunResult): UserStatus {
  const progressed = r.processed_conversations > 0 || r.scanned_conversations > r.failed_conversations;
  if (r.stop_reason === 'auth' || r.stop_reason === 'upstream' || r.stop_reason === 'aborted' || r.stop_reason === 'failures') {
    return progressed ? 'PARTIAL_SUCCESS' : 'ERROR';
  }
  if (r.failed_conversations > 0) return progressed ? 'PARTIAL_SUCCESS' : 'ERROR';
  if (r.stop_reason === 'time_budget' || r.stop_reason === 'conversations_limit') return 'PARTIAL_SUCCESS';
  if (r.scanned_conversations === 0) {
    r.stop_reason = 'nothing_new';
    return 'SKIPPED';
  }
  return 'SUCCESS';
}

function conversationFailure(id: string, error: unknown): string {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `conversation ${id}: ${what.slice(0, 300)}`;
}
