/**
 * Per-conversation checkpoints and the pure rules that decide which messages are new.
 *
 * A checkpoint records the span of time already covered in a conversation: `[processed_range_start,
 * processed_range_end)` in Unix seconds, the union of the windows it was read with, plus the newest message processed.
 * Windows always lie in the past (they end at today's local midnight), so once a span has been read nothing new can
 * appear in it: a message is new exactly when it lies in the current window and outside the covered span. That gives:
 * - the next day's run reads only the new day;
 * - a window that grew backwards (larger `days_back`) reads only the older, uncovered part;
 * - messages dropped by the token cap (the oldest ones) are covered, hence never picked up later;
 * - a run repeated on the same day reads nothing and, when the span covers the window, makes no call at all.
 * The covered span is kept as one interval. When runs were further apart than the window (a gap between the old span
 * and the new window), the span is widened over the gap and the gap is not back-filled: a message is never processed
 * twice, at the price of not reading days no run asked for.
 * @module
 */
import type { DifyMessage } from './dify-client.js';
import type { ExtractionWindow } from './window.js';
import type { ConversationCheckpoint } from '../../store/extraction-checkpoints.js';

/** Window bounds in Unix seconds: `[startSec, endSec)`. */
export type SecondsWindow = Pick<ExtractionWindow, 'startSec' | 'endSec'>;

export interface Span {
  start: number;
  end: number;
}

function coveredSpan(checkpoint: ConversationCheckpoint | null | undefined): Span | null {
  if (!checkpoint) return null;
  const { processed_range_start: start, processed_range_end: end } = checkpoint;
  if (start === null || end === null || !(end > start)) return null;
  return { start, end };
}

/** The parts of the window the checkpoint does not cover yet (0, 1 or 2 spans, oldest first). */
export function uncoveredParts(window: SecondsWindow, checkpoint: ConversationCheckpoint | null | undefined): Span[] {
  const span = coveredSpan(checkpoint);
  if (!span) return window.endSec > window.startSec ? [{ start: window.startSec, end: window.endSec }] : [];
  const parts: Span[] = [];
  const below = { start: window.startSec, end: Math.min(window.endSec, span.start) };
  const above = { start: Math.max(window.startSec, span.end), end: window.endSec };
  if (below.end > below.start) parts.push(below);
  if (above.end > above.start) parts.push(above);
  return parts;
}

/** True when the checkpoint already covers the whole window: the conversation needs no call at all. */
export function windowCovered(window: SecondsWindow, checkpoint: ConversationCheckpoint | null | undefined): boolean {
  return uncoveredParts(window, checkpoint).length === 0;
}

/**
 * Dify moves a conversation's `updated_at` just before it stores each new message, so every message lies within
 * `[created_at, updated_at]` give or take a moment; this much slack (seconds) absorbs that.
 */
export const ACTIVITY_SLACK_SEC = 60;

/**
 * Whether a conversation active from `createdAt` to `updatedAt` (Unix seconds, from the conversation list) can have
 * a message in the uncovered part of the window. False means: skip it without a call.
 */
export function mayHaveNewMessages(
  activity: { created_at: number; updated_at: number },
  window: SecondsWindow,
  checkpoint: ConversationCheckpoint | null | undefined,
): boolean {
  const from = activity.created_at - ACTIVITY_SLACK_SEC;
  const to = activity.updated_at + ACTIVITY_SLACK_SEC;
  return uncoveredParts(window, checkpoint).some((part) => from < part.end && to >= part.start);
}

/**
 * The oldest `created_at` that can still hold a new message: paging back through a conversation (newest first) can
 * stop once it has passed this. Usually the window start; later when the covered span already reaches into the window
 * from below.
 */
export function pagingFloor(window: SecondsWindow, checkpoint: ConversationCheckpoint | null | undefined): number {
  const span = coveredSpan(checkpoint);
  if (span && span.start <= window.startSec) return Math.max(window.startSec, span.end);
  return window.startSec;
}

/** Whether one message must be processed in this window given the checkpoint. */
export function isNewMessage(
  message: Pick<DifyMessage, 'id' | 'created_at'>,
  window: SecondsWindow,
  checkpoint: ConversationCheckpoint | null | undefined,
): boolean {
  const t = message.created_at;
  if (t < window.startSec || t >= window.endSec) return false;
  if (checkpoint?.last_processed_message_id === message.id) return false;
  const span = coveredSpan(checkpoint);
  if (span) return t < span.start || t >= span.end;
  // A checkpoint without a span (written by something that only kept the last id): everything after that message.
  return true;
}

/**
 * The new messages among `messages` (chronological order in, chronological order out). For a checkpoint that has a
 * last id but no span, only messages after that id count, when the id is among them.
 */
export function selectNewMessages(
  messages: readonly DifyMessage[],
  window: SecondsWindow,
  checkpoint: ConversationCheckpoint | null | undefined,
): DifyMessage[] {
  let candidates = messages;
  if (!coveredSpan(checkpoint) && checkpoint?.last_processed_message_id) {
    const at = messages.findIndex((m) => m.id === checkpoint.last_processed_message_id);
    if (at >= 0) candidates = messages.slice(at + 1);
  }
  return candidates.filter((m) => isNewMessage(m, window, checkpoint));
}

/**
 * The checkpoint after a conversation was read with `window` and `processed` (chronological) were handed to
 * extraction. The span grows to cover the window; the last id moves only to a newer message.
 */
export function advanceCheckpoint(
  checkpoint: ConversationCheckpoint | null | undefined,
  window: SecondsWindow,
  processed: readonly DifyMessage[],
): ConversationCheckpoint {
  const span = coveredSpan(checkpoint);
  const start = span ? Math.min(span.start, window.startSec) : window.startSec;
  const end = span ? Math.max(span.end, window.endSec) : window.endSec;
  const newest = processed.at(-1);
  let last = checkpoint?.last_processed_message_id ?? null;
  // Newer than anything covered before means newer than the old last id, whose message lies inside the old span.
  if (newest && (last === null || !span || newest.created_at >= span.end)) last = newest.id;
  return { last_processed_message_id: last, processed_range_start: start, processed_range_end: end };
}
