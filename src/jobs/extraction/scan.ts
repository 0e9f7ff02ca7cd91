/**
 * Reading one user's conversations and messages inside the extraction window, with as few calls as possible.
 *
 * Conversations come most recently updated first; the scan stops paging at the first conversation updated before
 * the window (everything after it is older still), instead of reading the user's whole history. It yields at most
 * `limit` conversations; when it is cut short there it leaves a {@link ResumeCursor}, and a later scan given that
 * cursor continues right after it (Dify's `last_id`).
 *
 * Messages are paged from the newest backwards (`first_id`) only down to the oldest time that can still hold a new
 * message (see `pagingFloor` in checkpoint.ts), and a conversation whose checkpoint covers the window costs no call.
 * @module
 */
import type { DifyClient, DifyConversation, DifyMessage } from './dify-client.js';
import { DIFY_MAX_PAGE, DifyNotFoundError } from './dify-client.js';
import type { ConversationCheckpoint } from '../../store/extraction-checkpoints.js';
import type { SecondsWindow } from './checkpoint.js';
import { ACTIVITY_SLACK_SEC, mayHaveNewMessages, pagingFloor, selectNewMessages } from './checkpoint.js';

/** The part of the client the scan needs (the fake in tests and the real client both fit). */
export type DifyReader = Pick<DifyClient, 'listConversations' | 'listMessages'>;

/** Where a scan cut short by `conversations_limit` stopped, and with which window (Unix seconds). */
export interface ResumeCursor {
  /** The last conversation handed out; the next scan starts after it. */
  conversation_id: string;
  /** The window of the run that was cut short. */
  window_start: number;
  window_end: number;
}

/**
 * The window to scan with when resuming: the union of the interrupted run's window and today's, so the
 * conversations the interrupted run never reached are read over its window too. Checkpoints keep that from
 * processing anything twice.
 */
export function resumeWindow(cursor: ResumeCursor | null | undefined, window: SecondsWindow): SecondsWindow {
  if (!cursor) return window;
  return { startSec: Math.min(cursor.window_start, window.startSec), endSec: Math.max(cursor.window_end, window.endSec) };
}

export interface ConversationScanOptions {
  user: string;
  window: SecondsWindow;
  /** At most this many conversations per run (`conversations_limit`). */
  limit: number;
  resume?: ResumeCursor | null | undefined;
  /** Page size; Dify allows at most 100. */
  pageSize?: number | undefined;
  /**
   * Conversations for which this returns true are passed over without counting against `limit` (typically: the
   * checkpoint shows nothing new can be in them, see `mayHaveNewMessages`).
   */
  skip?: ((conversation: DifyConversation) => boolean) | undefined;
  signal?: AbortSignal | undefined;
}

export type ScanStop =
  /** Reached a conversation updated before the window. */
  | 'window'
  /** Dify had no more conversations. */
  | 'end'
  /** `limit` conversations were handed out and more may be left: see {@link ConversationScan.nextCursor}. */
  | 'limit';

export interface ConversationScanStats {
  pages: number;
  /** Conversations returned by Dify and looked at. */
  seen: number;
  /** Handed out (updated inside or after the window, created before its end). */
  yielded: number;
  /** Passed over because `skip` said so. */
  skipped: number;
  stoppedBy: ScanStop | null;
  /** The resume cursor pointed at a conversation Dify no longer has; the scan restarted from the newest. */
  resumeLost: boolean;
}

/**
 * One pass over a user's conversations. Iterate it with `for await`; afterwards `stats` tells why it stopped and
 * `nextCursor()` what to store for the next run (null: the pass is complete, clear the stored cursor).
 */
export class ConversationScan implements AsyncIterable<DifyConversation> {
  readonly stats: ConversationScanStats = { pages: 0, seen: 0, yielded: 0, skipped: 0, stoppedBy: null, resumeLost: false };
  #last: DifyConversation | null = null;

  constructor(
    private readonly client: DifyReader,
    private readonly options: ConversationScanOptions,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be a whole number >= 1');
  }

  nextCursor(): ResumeCursor | null {
    if (this.stats.stoppedBy !== 'limit' || !this.#last) return null;
    const { window } = this.options;
    return {
      conversation_id: this.#last.id,
      window_start: window.startSec,
      window_end: window.endSec,
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DifyConversation> {
    const { user, window, limit, signal } = this.options;
    const pageSize = Math.min(this.options.pageSize ?? DIFY_MAX_PAGE, DIFY_MAX_PAGE);
    let lastId = this.options.resume?.conversation_id ?? null;
    for (;;) {
      let page;
      try {
        page = await this.client.listConversations({ user, lastId, limit: pageSize }, signal);
      } catch (error) {
        // `last_id` of a conversation deleted since: start over from the newest; checkpoints prevent repeats.
        if (error instanceof DifyNotFoundError && lastId !== null && lastId === this.options.resume?.conversation_id && this.stats.pages === 0) {
          this.stats.resumeLost = true;
          lastId = null;
          continue;
        }
        throw error;
      }
      this.stats.pages += 1;
      for (let i = 0; i < page.data.length; i++) {
        const conversation = page.data[i]!;
        this.stats.seen += 1;
        // Updated before the window (with slack for Dify setting `updated_at` just before a message's `created_at`).
        if (conversation.updated_at < window.startSec - ACTIVITY_SLACK_SEC) {
          this.stats.stoppedBy = 'window';
          return;
        }
        // Started after the window closed: none of its messages can be inside.
        if (conversation.created_at >= window.endSec) continue;
        if (this.options.skip?.(conversation)) {
          this.stats.skipped += 1;
          continue;
        }
        if (this.stats.yielded >= limit) {
          this.stats.stoppedBy = 'limit';
          return;
        }
        this.stats.yielded += 1;
        this.#last = conversation;
        yield conversation;
      }
      const tail = page.data.at(-1);
      if (!page.has_more || !tail) {
        this.stats.stoppedBy = 'end';
        return;
      }
      if (this.stats.yielded >= limit) {
        // More may follow in the window; saying "limit" costs the next run at most one page if not.
        this.stats.stoppedBy = 'limit';
        return;
      }
      lastId = tail.id;
    }
  }
}

export interface ReadMessagesOptions {
  user: string;
  /** With `created_at`/`updated_at` (as listed), a conversation with no activity in the uncovered window costs no call. */
  conversation: Pick<DifyConversation, 'id'> & Partial<Pick<DifyConversation, 'created_at' | 'updated_at'>>;
  window: SecondsWindow;
  checkpoint?: ConversationCheckpoint | null | undefined;
  pageSize?: number | undefined;
  /**
   * Called with each page's new messages, newest first; returning true stops paging (e.g. the token cap is full,
   * so older messages would be dropped anyway).
   */
  enough?: ((newestFirst: readonly DifyMessage[]) => boolean) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ReadMessagesResult {
  /** New messages, chronological. */
  messages: DifyMessage[];
  pages: number;
  /** Messages returned by Dify and looked at (new or not). */
  seen: number;
  /** True when nothing was requested: the checkpoint covers the window, or the conversation was not active in it. */
  skipped: boolean;
  /** True when `enough` stopped paging early. */
  stoppedEarly: boolean;
}

/**
 * Reads the new messages of one conversation (see checkpoint.ts for what "new" means), paging back from the newest
 * only as far as needed.
 *
 * Known Dify behaviour: `first_id` returns messages created strictly before that message's second, so a message
 * created in the same second as the oldest message of a page is never returned by paging. Nothing here can recover
 * it; with human-paced turns it does not happen in practice.
 */
export async function readNewMessages(client: DifyReader, options: ReadMessagesOptions): Promise<ReadMessagesResult> {
  const { user, conversation, window, checkpoint, signal } = options;
  const result: ReadMessagesResult = { messages: [], pages: 0, seen: 0, skipped: false, stoppedEarly: false };
  // Without the conversation's times, assume activity over the whole window (only the checkpoint can rule it out).
  const activity = {
    created_at: conversation.created_at ?? Number.NEGATIVE_INFINITY,
    updated_at: conversation.updated_at ?? Number.POSITIVE_INFINITY,
  };
  if (!mayHaveNewMessages(activity, window, checkpoint)) {
    result.skipped = true;
    return result;
  }
  const floor = pagingFloor(window, checkpoint);
  const lastIdOnly = checkpoint && checkpoint.processed_range_start === null ? checkpoint.last_processed_message_id : null;
  const pageSize = Math.min(options.pageSize ?? DIFY_MAX_PAGE, DIFY_MAX_PAGE);
  // Pages arrive newest page first, each chronological; collected back to front.
  const pages: DifyMessage[][] = [];
  let firstId: string | null = null;
  for (;;) {
    const page = await client.listMessages({ user, conversationId: conversation.id, firstId, limit: pageSize }, signal);
    result.pages += 1;
    result.seen += page.data.length;
    const fresh = selectNewMessages(page.data, window, checkpoint);
    pages.push(fresh);
    const oldest = page.data[0];
    if (!page.has_more || !oldest || oldest.created_at < floor) break;
    // A checkpoint that only knows the last processed id: everything older than that message is done.
    if (lastIdOnly && page.data.some((m) => m.id === lastIdOnly)) break;
    if (options.enough?.([...fresh].reverse())) {
      result.stoppedEarly = true;
      break;
    }
    firstId = oldest.id;
  }
  for (let i = pages.length - 1; i >= 0; i--) result.messages.push(...pages[i]!);
  return result;
}
