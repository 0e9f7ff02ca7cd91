// The context of one tool call as the runtime hands it to the app: no Dify user, app or conversation, a signal that
// is never aborted and a silent logger, unless a test says otherwise.
import { pino } from 'pino';
import type { SessionContext } from '../../src/runtime/contract.js';

export function session(overrides: Partial<SessionContext> = {}): SessionContext {
  return {
    sessionId: 'test-session',
    userId: null,
    appId: null,
    conversationId: null,
    messageId: null,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
}
