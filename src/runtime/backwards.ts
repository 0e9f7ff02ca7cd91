/**
 * Backwards invocations: calls from the plugin into Dify (plugin storage, and later the workspace's models), made
 * inside a running session.
 *
 * Wire (daemon: internal/core/io_tunnel/backwards_invocation/ and generic.go):
 * - out, as a session message of the calling session:
 *   `{"event":"session","session_id":SID,"data":{"type":"invoke","data":{"type":T,"backwards_request_id":ID,"request":{…}}}}`
 * - back, as frames `{"session_id":SID,…,"event":"backwards_response","data":{"backwards_request_id":ID,"event":E,
 *   "message":M,"data":D}}` with E `response` (any number, M the kind of payload, e.g. `struct` or `stream`),
 *   `error` (M the reason, D null), and always a final `end`. The daemon answers an error with `error` then `end`.
 * - An invoke the daemon cannot parse (no type, id or request) ends the whole SESSION with an error instead; nothing
 *   comes back for the call, so every call has a deadline.
 *
 * {@link BackwardsCalls} keeps the calls in flight across all sessions, routes each response by request id (checking
 * that it belongs to the session that made the call) and fails a call on its deadline, on its session's abort signal
 * and when its session ends with the call still open.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** One `response` event of a backwards call: `message` names the kind of payload (`struct`, `stream`, …). */
export interface BackwardsChunk {
  message: string;
  data: unknown;
}

export interface BackwardsCallOptions {
  /** The call fails with {@link BackwardsTimeoutError} when no `end` arrived within this many ms. */
  timeoutMs: number;
  /** Aborting fails the call with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** What a handler uses to call back into Dify within its session. */
export interface BackwardsInvoker {
  /** Sends the call and yields each `response` payload as it arrives; ends after `end`; throws on `error`. */
  stream(type: string, request: Record<string, unknown>, options: BackwardsCallOptions): AsyncIterable<BackwardsChunk>;
  /** Sends the call and resolves with every `response` payload once `end` arrived. */
  call(type: string, request: Record<string, unknown>, options: BackwardsCallOptions): Promise<BackwardsChunk[]>;
}

/** Dify answered the call with an error event; `message` is Dify's reason. */
export class BackwardsCallError extends Error {
  readonly code = 'BACKWARDS_ERROR';

  constructor(
    readonly invokeType: string,
    reason: string,
  ) {
    super(`Dify answered the ${invokeType} call with an error: ${reason.slice(0, 500)}`);
    this.name = 'BackwardsCallError';
  }
}

/** No `end` within the call's deadline. */
export class BackwardsTimeoutError extends Error {
  readonly code = 'BACKWARDS_TIMEOUT';

  constructor(
    readonly invokeType: string,
    readonly timeoutMs: number,
  ) {
    super(`Dify did not answer the ${invokeType} call within ${Math.round(timeoutMs / 100) / 10} s`);
    this.name = 'BackwardsTimeoutError';
  }
}

/** The session that made the call ended (or was aborted) while the call was still open. */
export class BackwardsSessionClosedError extends Error {
  readonly code = 'BACKWARDS_SESSION_CLOSED';

  constructor(invokeType: string, why: string) {
    super(`the ${invokeType} call was left unanswered: ${why}`);
    this.name = 'BackwardsSessionClosedError';
  }
}

/** Writes one session message (`{"type":"invoke","data":…}`) of the calling session. */
export type SendInvoke = (payload: { type: string; backwards_request_id: string; request: Record<string, unknown> }) => Promise<void>;

interface Pending {
  sessionId: string;
  type: string;
  push(chunk: BackwardsChunk): void;
  fail(error: Error): void;
  end(): void;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A small queue between the frame router (producer) and one call's consumer. */
class ChunkQueue {
  private readonly items: BackwardsChunk[] = [];
  private error: Error | null = null;
  private ended = false;
  private wake: (() => void) | null = null;

  push(chunk: BackwardsChunk): void {
    if (this.ended || this.error) return;
    this.items.push(chunk);
    this.notify();
  }

  fail(error: Error): void {
    if (this.ended || this.error) return;
    this.error = error;
    this.notify();
  }

  end(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    this.notify();
  }

  async *drain(): AsyncGenerator<BackwardsChunk> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Every backwards call in flight in this process, keyed by request id. */
export class BackwardsCalls {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly logger: Logger) {}

  /** Calls in flight (for tests and logs). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * An invoker bound to one session: its calls go out on that session, and fail when the session's `signal` aborts
   * or the session ends ({@link closeSession}).
   */
  forSession(sessionId: string, send: SendInvoke, sessionSignal: AbortSignal): BackwardsInvoker {
    const stream = (type: string, request: Json, options: BackwardsCallOptions) =>
      this.stream(sessionId, send, type, request, { ...options, signal: options.signal ? AbortSignal.any([sessionSignal, options.signal]) : sessionSignal });
    return {
      stream,
      call: async (type, request, options) => {
        const chunks: BackwardsChunk[] = [];
        for await (const chunk of stream(type, request, options)) chunks.push(chunk);
        return chunks;
      },
    };
  }

  /**
   * Routes a `backwards_response` frame to its call. Frames for unknown ids (a call already failed by its deadline)
   * or from another session than the caller's are logged and dropped.
   */
  route(frame: Json): void {
    const data = isObject(frame.data) ? frame.data : {};
    const id = data.backwards_request_id;
    const call = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!call) {
      this.logger.debug({ id: typeof id === 'string' ? id.slice(0, 64) : typeof id }, 'dropped a backwards_response for no open call');
      return;
    }
    if (frame.session_id !== call.sessionId) {
      this.logger.warn({ id, session: call.sessionId }, 'dropped a backwards_response that came on another session than its call');
      return;
    }
    switch (data.event) {
      case 'response':
        call.push({ message: typeof data.message === 'string' ? data.message : '', data: data.data });
        return;
      case 'error':
        call.fail(new BackwardsCallError(call.type, typeof data.message === 'string' ? data.message : 'no reason given'));
        return;
      case 'end':
        call.end();
        return;
      default:
        this.logger.warn({ id, event: String(data.event).slice(0, 32) }, 'dropped a backwards_response with an unknown event');
    }
  }

  /** Fails every call of a session that has ended (its answers can no longer be awaited). */
  closeSession(sessionId: string, why: string): void {
    for (const call of [...this.pending.values()]) {
      if (call.sessionId === sessionId) call.fail(new BackwardsSessionClosedError(call.type, why));
    }
  }

  private async *stream(sessionId: string, send: SendInvoke, type: string, request: Json, options: BackwardsCallOptions): AsyncGenerator<BackwardsChunk> {
    options.signal?.throwIfAborted();
    const id = randomUUID().replace(/-/g, '');
    const queue = new ChunkQueue();
    const entry: Pending = {
      sessionId,
      type,
      push: (chunk) => queue.push(chunk),
      fail: (error) => {
        this.pending.delete(id);
        queue.fail(error);
      },
      end: () => {
        this.pending.delete(id);
        queue.end();
      },
    };
    this.pending.set(id, entry);
    const timer = setTimeout(() => entry.fail(new BackwardsTimeoutError(type, options.timeoutMs)), options.timeoutMs);
    const onAbort = () => entry.fail(options.signal?.reason instanceof Error ? options.signal.reason : new BackwardsSessionClosedError(type, 'the session was aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await send({ type, backwards_request_id: id, request });
      yield* queue.drain();
    } finally {
      // Also reached when the consumer stops early: the call is forgotten and late answers are dropped.
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.pending.delete(id);
    }
  }
}
