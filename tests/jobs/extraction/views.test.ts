// What get_user_checkpoint shows: every time in ISO 8601, the processed ranges too (they are stored in Unix seconds,
// Dify's unit; shown as seconds before issue 14).
import { describe, expect, it } from 'vitest';
import { checkpointView } from '../../../src/jobs/extraction/views.js';

describe('checkpointView', () => {
  it('shows the processed ranges in ISO 8601 UTC', () => {
    const view = checkpointView({
      userId: 'erin',
      appId: 'app',
      checkpoint: {
        conversations: { c1: { last_processed_message_id: 'm9', processed_range_start: 1_796_169_600, processed_range_end: 1_796_256_000 } },
        resume_conversation_cursor: null, resume_run_at: null, resume_start_time: null, resume_end_time: null,
      },
      version: 3,
      conversationsCount: 1,
      createdAt: new Date('2026-12-01T00:00:00Z'),
      updatedAt: new Date('2026-12-02T10:00:00Z'),
    });
    expect(view.checkpoint).toMatchObject({
      conversations: { c1: { last_processed_message_id: 'm9', processed_range_start: '2026-12-02T00:00:00.000Z', processed_range_end: '2026-12-03T00:00:00.000Z' } },
    });
    expect(view.updated_at).toBe('2026-12-02T10:00:00.000Z');
  });

  it('keeps a range it does not know as null', () => {
    const view = checkpointView({
      userId: 'u', appId: 'a', version: 1, conversationsCount: 1, createdAt: null, updatedAt: null,
      checkpoint: { conversations: { c: { last_processed_message_id: null, processed_range_start: null, processed_range_end: null } }, resume_conversation_cursor: null, resume_run_at: null, resume_start_time: null, resume_end_time: null },
    });
    expect((view.checkpoint as { conversations: Record<string, unknown> }).conversations.c).toEqual({ last_processed_message_id: null, processed_range_start: null, processed_range_end: null });
  });
});
