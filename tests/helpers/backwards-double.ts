/**
 * The daemon's side of a backwards call, shared by the test doubles that answer them (plugin-storage.ts for
 * `storage`, workspace-models.ts for the model calls): spotting the plugin's `invoke` frames, and answering one the
 * way the daemon does (backwards_invocation/entities.go) — `response` events, or one `error` event, then always `end`
 * — or holding the answer back, or never answering, as the test decides.
 * @module
 */
import type { Frame } from './plugin-process.js';

/** `answer` after the optional promise settles; `error` with a reason; `drop` never answers. */
export type BackwardsDecision = { do: 'answer'; after?: Promise<unknown> } | { do: 'error'; reason: string } | { do: 'drop' };

export interface BackwardsInvoke {
  sessionId: string;
  type: string;
  requestId: string;
  request: Record<string, unknown>;
}

/** The plugin's backwards `invoke` frame, or null for any other frame. */
export function backwardsInvoke(frame: Frame): BackwardsInvoke | null {
  const data = frame.data as { type?: string; data?: { type?: string; backwards_request_id?: string; request?: Record<string, unknown> } } | undefined;
  if (frame.event !== 'session' || data?.type !== 'invoke' || typeof data.data?.type !== 'string') return null;
  return { sessionId: String(frame.session_id), type: data.data.type, requestId: String(data.data.backwards_request_id), request: data.data.request ?? {} };
}

/**
 * Answers `call` following `decision`; `respond` gives the `response` events as `[message, payload]` pairs, or the
 * reason of an error the daemon would report.
 */
export function answerBackwards(
  send: (frame: Frame) => void,
  call: Pick<BackwardsInvoke, 'sessionId' | 'requestId'>,
  decision: BackwardsDecision,
  respond: () => Array<[string, unknown]> | { error: string },
): void {
  if (decision.do === 'drop') return;
  const reply = (event: string, message: string, payload: unknown): void =>
    send({
      session_id: call.sessionId, conversation_id: null, message_id: null, app_id: null, endpoint_id: null, context: null,
      event: 'backwards_response',
      data: { backwards_request_id: call.requestId, event, message, data: payload },
    });
  const answer = (): void => {
    const result = decision.do === 'error' ? { error: decision.reason } : respond();
    if ('error' in result) reply('error', result.error, null);
    else for (const [message, payload] of result) reply('response', message, payload);
    reply('end', '', null);
  };
  if (decision.do === 'answer' && decision.after) void decision.after.then(answer);
  else answer();
}
