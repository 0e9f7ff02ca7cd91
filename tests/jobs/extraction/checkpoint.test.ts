import { describe, expect, it } from 'vitest';
import {
  ACTIVITY_SLACK_SEC,
  advanceCheckpoint,
  isNewMessage,
  mayHaveNewMessages,
  uncoveredParts,
  pagingFloor,
  selectNewMessages,
  windowCovered,
} from '../../../src/jobs/extraction/checkpoint.js';
import type { ConversationCheckpoint } from '../../../src/store/extraction-checkpoints.js';
import type { DifyMessage } from '../../../src/jobs/extraction/dify-client.js';

const DAY = 86_400;
const D = (n: number) => 1_767_225_600 + n * DAY; // day n after 2026-01-01T00:00Z
const win = (from: number, to: number) => ({ startSec: D(from), endSec: D(to) });
const msg = (id: string, created_at: number): DifyMessage => ({ id, conversation_id: 'c', query: id, answer: '', created_at });
/** One message every 6 hours from day 0 to day 10. */
const history = Array.from({ length: 40 }, (_, i) => msg(`m${i}`, D(0) + i * 6 * 3600));
const ids = (list: DifyMessage[]) => list.map((m) => m.id);
const inDays = (from: number, to: number) => history.filter((m) => m.created_at >= D(from) && m.created_at < D(to));

describe('new-message selection', () => {
  it('without a checkpoint, everything inside the window is new', () => {
    expect(ids(selectNewMessages(history, win(3, 4), null))).toEqual(ids(inDays(3, 4)));
    expect(isNewMessage(msg('x', D(4)), win(3, 4), null)).toBe(false); // end is exclusive
    expect(isNewMessage(msg('x', D(3)), win(3, 4), null)).toBe(true); // start is inclusive
  });

  it('the next day reads only the new day', () => {
    const cp = advanceCheckpoint(null, win(3, 4), inDays(3, 4));
    expect(cp).toEqual({ last_processed_message_id: inDays(3, 4).at(-1)!.id, processed_range_start: D(3), processed_range_end: D(4) });
    expect(ids(selectNewMessages(history, win(4, 5), cp))).toEqual(ids(inDays(4, 5)));
    // Same day again: nothing new, and no call is needed.
    expect(selectNewMessages(history, win(3, 4), cp)).toEqual([]);
    expect(windowCovered(win(3, 4), cp)).toBe(true);
  });

  it('a window grown backwards reads only the older, uncovered part', () => {
    const cp = advanceCheckpoint(null, win(6, 7), inDays(6, 7));
    // days_back 1 → 4 on day 7: [3, 7); [6, 7) is covered.
    expect(ids(selectNewMessages(history, win(3, 7), cp))).toEqual(ids(inDays(3, 6)));
    const grown = advanceCheckpoint(cp, win(3, 7), inDays(3, 6));
    expect(grown).toEqual({ last_processed_message_id: cp.last_processed_message_id, processed_range_start: D(3), processed_range_end: D(7) });
    // Grown backwards and moved forward at once: both ends are new, the middle is not.
    expect(ids(selectNewMessages(history, win(1, 8), grown))).toEqual(ids([...inDays(1, 3), ...inDays(7, 8)]));
  });

  it('never processes a message twice over a sequence of runs with changing windows', () => {
    let cp: ConversationCheckpoint | null = null;
    const seen = new Map<string, number>();
    for (const w of [win(2, 3), win(2, 3), win(3, 4), win(0, 4), win(4, 5), win(1, 6), win(5, 6), win(3, 10)]) {
      const fresh = selectNewMessages(history, w, cp);
      for (const m of fresh) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      cp = advanceCheckpoint(cp, w, fresh);
    }
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect([...seen.keys()].sort()).toEqual(ids(inDays(0, 10)).sort());
    expect(cp).toMatchObject({ processed_range_start: D(0), processed_range_end: D(10), last_processed_message_id: 'm39' });
  });

  it('widens over a gap between runs instead of reading a covered day twice later', () => {
    const first = advanceCheckpoint(null, win(1, 2), inDays(1, 2));
    const later = advanceCheckpoint(first, win(5, 6), selectNewMessages(history, win(5, 6), first));
    expect(later).toMatchObject({ processed_range_start: D(1), processed_range_end: D(6) });
    // A later, larger window does not return day 1 (processed) — nor the gap days 2–4 (documented trade-off).
    expect(ids(selectNewMessages(history, win(0, 7), later))).toEqual(ids([...inDays(0, 1), ...inDays(6, 7)]));
  });

  it('keeps the last id on a backwards-only run and moves it on a forward run', () => {
    const cp = advanceCheckpoint(null, win(5, 6), inDays(5, 6));
    const back = advanceCheckpoint(cp, win(2, 6), inDays(2, 5));
    expect(back.last_processed_message_id).toBe(cp.last_processed_message_id);
    const fwd = advanceCheckpoint(back, win(2, 7), inDays(6, 7));
    expect(fwd.last_processed_message_id).toBe(inDays(6, 7).at(-1)!.id);
    // A run that found nothing new still records that the window was read.
    expect(advanceCheckpoint(null, win(8, 9), [])).toEqual({ last_processed_message_id: null, processed_range_start: D(8), processed_range_end: D(9) });
  });

  it('a checkpoint with only a last id treats the messages after it as new', () => {
    const legacy = { last_processed_message_id: 'm13', processed_range_start: null, processed_range_end: null };
    expect(ids(selectNewMessages(history, win(3, 4), legacy))).toEqual(['m14', 'm15']);
    // The id is not on this page: every in-window message is new.
    expect(ids(selectNewMessages(inDays(4, 5), win(4, 5), legacy))).toEqual(ids(inDays(4, 5)));
  });

  it('pages back only to the oldest time that can still hold something new', () => {
    expect(pagingFloor(win(3, 5), null)).toBe(D(3));
    expect(pagingFloor(win(3, 5), { last_processed_message_id: null, processed_range_start: D(1), processed_range_end: D(4) })).toBe(D(4));
    expect(pagingFloor(win(3, 5), { last_processed_message_id: null, processed_range_start: D(4), processed_range_end: D(5) })).toBe(D(3));
    expect(windowCovered(win(3, 5), { last_processed_message_id: null, processed_range_start: D(4), processed_range_end: D(5) })).toBe(false);
  });

  it('lists the uncovered parts of a window', () => {
    const cp = { last_processed_message_id: null, processed_range_start: D(3), processed_range_end: D(5) };
    expect(uncoveredParts(win(1, 7), cp)).toEqual([{ start: D(1), end: D(3) }, { start: D(5), end: D(7) }]);
    expect(uncoveredParts(win(3, 5), cp)).toEqual([]);
    expect(uncoveredParts(win(4, 6), cp)).toEqual([{ start: D(5), end: D(6) }]);
    expect(uncoveredParts(win(1, 2), null)).toEqual([{ start: D(1), end: D(2) }]);
  });

  it('rules out a conversation whose activity lies only in covered time', () => {
    const cp = { last_processed_message_id: null, processed_range_start: D(6), processed_range_end: D(7) };
    // Yesterday's conversation, asked again with a week-long window: nothing to read.
    expect(mayHaveNewMessages({ created_at: D(6) + 3600, updated_at: D(6) + 7200 }, win(0, 7), cp)).toBe(false);
    // Started two days ago, still active yesterday: its older part is new.
    expect(mayHaveNewMessages({ created_at: D(5) + 3600, updated_at: D(6) + 7200 }, win(0, 7), cp)).toBe(true);
    // Started just after the covered span began: slack keeps it (a message may predate the listed time slightly).
    expect(mayHaveNewMessages({ created_at: D(6) + ACTIVITY_SLACK_SEC - 1, updated_at: D(6) + 7200 }, win(0, 7), cp)).toBe(true);
    // Active only after the window closed.
    expect(mayHaveNewMessages({ created_at: D(7) + 600, updated_at: D(7) + 900 }, win(0, 7), null)).toBe(false);
  });
});
