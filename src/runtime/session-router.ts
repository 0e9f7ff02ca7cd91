/**
 * Routes request frames to the plugin's handlers and writes their results back as stream / error / end frames.
 *
 * Request frames (daemon → plugin, one per session):
 * `{"session_id","conversation_id","message_id","app_id","endpoint_id","context","event":"request",
 *   "data":{"user_id","type":"tool","action",...}}`
 * (the Python SDK reads the same keys: dify_plugin/core/server/tcp/request_reader.py).
 * Every session ends with exactly one end frame; a failure sends one error frame right before it.
 * Many sessions run at once over one transport; each frame is written whole, so they interleave by line only.
 * @module
 */
import type { Logger } from 'pino';
import { BackwardsCalls, BackwardsSessionClosedError } from './backwards.js';
import { CREDENTIAL_VALIDATION_ERROR, PluginError, TOOL_INVOKE_ERROR } from './contract.js';
import type { PluginHandlers, SessionContext, ToolMessage } from './contract.js';
import { FrameTooLargeError } from './framing.js';
import { describeError, endFrame, errorFrame, invokeFrame, secretValues, streamFrame, toWireError } from './frames.js';
import { TransportClosedError } from './transport.js';
import type { Transport } from './transport.js';

/** Text longer than this (UTF-16 units) is sent as several text messages; even fully escaped it stays < 5 MiB. */
const TEXT_SPLIT_UNITS = 500_000;

interface Session {
  transport: Transport;
  controller: AbortController;
  done: Promise<void>;
}

type Json = Record<string, unknown>;
type Send = (frame: unknown) => Promise<void>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function objectOrEmpty(value: unknown): Json {
  return isObject(value) ? value : {};
}

/** Splits text at surrogate-safe boundaries. */
function splitText(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + TEXT_SPLIT_UNITS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

export interface SessionRouterOptions {
  handlers: PluginHandlers;
  logger: Logger;
  /**
   * A session still running after this long is aborted and answered with an error (default 600 s: the daemon's
   * own PLUGIN_MAX_EXECUTION_TIMEOUT, after which nobody waits for the answer any more).
   */
  sessionTimeoutMs?: number;
}

/** Why a session was aborted; the message goes to the daemon. */
class SessionAbort extends PluginError {
  constructor(message: string) {
    super(TOOL_INVOKE_ERROR, message);
  }
}

export class SessionRouter {
  private readonly sessions = new Map<string, Session>();
  private accepting = true;
  private readonly handlers: PluginHandlers;
  private readonly logger: Logger;
  private readonly sessionTimeoutMs: number;
  private readonly backwards: BackwardsCalls;

  constructor(options: SessionRouterOptions) {
    this.handlers = options.handlers;
    this.logger = options.logger;
    this.backwards = new BackwardsCalls(options.logger);
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 600_000;
  }

  /** Routes the transport's messages here. The caller owns onclose/onerror and calls start(). */
  connect(transport: Transport): void {
    transport.onmessage = (message) => this.dispatch(transport, message);
  }

  /** Sessions still running. */
  get inFlight(): number {
    return this.sessions.size;
  }

  /** New requests are refused (logged and dropped) from now on; running sessions continue. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Aborts the sessions carried by a transport that is gone; their remaining frames are dropped. */
  abortTransport(transport: Transport, reason: string): void {
    for (const session of this.sessions.values()) {
      if (session.transport === transport) session.controller.abort(new TransportClosedError(reason));
    }
  }

  /**
   * Waits for running sessions to finish, at most `graceMs`; then aborts the rest and gives them `abortWaitMs` to
   * write their error/end frames. Resolves true when every session finished on its own.
   */
  async drain(graceMs: number, abortWaitMs = 1000): Promise<boolean> {
    this.stopAccepting();
    if (this.sessions.size === 0) return true;
    const all = () => Promise.allSettled([...this.sessions.values()].map((s) => s.done));
    if (await within(all(), graceMs)) return true;
    this.logger.warn({ sessions: this.sessions.size }, 'shutdown grace elapsed; aborting running sessions');
    for (const session of this.sessions.values()) session.controller.abort(new SessionAbort('the plugin is shutting down'));
    await within(all(), abortWaitMs);
    return false;
  }

  private dispatch(transport: Transport, message: unknown): void {
    if (!isObject(message)) {
      this.logger.warn({ kind: Array.isArray(message) ? 'array' : typeof message }, 'skipped a frame that is not an object');
      return;
    }
    const event = message.event;
    if (event === 'backwards_response') {
      this.backwards.route(message);
      return;
    }
    if (event !== 'request') {
      this.logger.warn({ event: typeof event === 'string' ? event.slice(0, 64) : typeof event }, 'skipped a frame with an unknown event');
      return;
    }
    const sessionId = message.session_id;
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
      this.logger.warn('skipped a request without a session_id');
      return;
    }
    if (!this.accepting) {
      // Answer at once so the caller does not wait for the daemon's timeout.
      this.logger.warn({ session: sessionId }, 'refused a request: plugin is shutting down');
      const refusal = new PluginError(TOOL_INVOKE_ERROR, 'the plugin is shutting down; try again');
      transport
        .send(errorFrame(sessionId, toWireError(refusal)))
        .then(() => transport.send(endFrame(sessionId)))
        .catch(() => {});
      return;
    }
    if (this.sessions.has(sessionId)) {
      this.logger.warn({ session: sessionId }, 'skipped a request for a session that is already running');
      return;
    }
    const controller = new AbortController();
    const session: Session = { transport, controller, done: Promise.resolve() };
    this.sessions.set(sessionId, session);
    session.done = this.run(transport, sessionId, message, controller.signal).finally(() => {
      this.sessions.delete(sessionId);
    });
  }

  private async run(transport: Transport, sessionId: string, frame: Json, signal: AbortSignal): Promise<void> {
    const data = objectOrEmpty(frame.data);
    const action = typeof data.action === 'string' ? data.action : '';
    const log = this.logger.child({ session: sessionId, action: action.slice(0, 64) });
    const context: SessionContext = {
      sessionId,
      userId: stringOrNull(data.user_id),
      appId: stringOrNull(frame.app_id),
      conversationId: stringOrNull(frame.conversation_id),
      messageId: stringOrNull(frame.message_id),
      signal,
      logger: log,
    };
    let finished = false;
    const send: Send = async (out) => {
      // After the end frame nothing more may go out; and if the connection that carried this session is gone,
      // nobody is listening for its frames.
      if (finished || (signal.aborted && signal.reason instanceof TransportClosedError)) return;
      await transport.send(out);
    };
    context.backwards = this.backwards.forSession(
      sessionId,
      (call) => (finished ? Promise.reject(new BackwardsSessionClosedError(call.type, 'the session has ended')) : send(invokeFrame(sessionId, call))),
      signal,
    );
    const timer = setTimeout(() => {
      this.sessions.get(sessionId)?.controller.abort(
        new SessionAbort(`the request took longer than ${Math.round(this.sessionTimeoutMs / 1000)} s and was stopped`),
      );
    }, this.sessionTimeoutMs);
    timer.unref();

    let fallbackType = TOOL_INVOKE_ERROR;
    try {
      const work = this.execute(data, action, context, send, (type) => {
        fallbackType = type;
      });
      // A handler that ignores its abort signal must not keep the session open: the abort wins the race.
      work.catch(() => {});
      const stop = aborted(signal);
      stop.catch(() => {});
      await Promise.race([work, stop]);
    } catch (error) {
      const secrets = secretValues(objectOrEmpty(data.credentials));
      const wire = toWireError(error, fallbackType, (reference, cause) =>
        log.error({ reference, error: describeError(cause, secrets) }, 'session failed with an unexpected error'),
      );
      if (error instanceof PluginError) log.info({ errorType: wire.error_type }, 'session ended with an error');
      await send(errorFrame(sessionId, wire)).catch((sendError: unknown) => this.lost(log, sendError));
    } finally {
      clearTimeout(timer);
      // A call still open (a handler that did not wait for it) can no longer be answered usefully.
      this.backwards.closeSession(sessionId, 'the session ended');
    }
    await send(endFrame(sessionId)).catch((sendError: unknown) => this.lost(log, sendError));
    finished = true;
  }

  private async execute(
    data: Json,
    action: string,
    context: SessionContext,
    send: Send,
    setFallbackType: (type: string) => void,
  ): Promise<void> {
    if (data.type !== 'tool') {
      throw new PluginError(TOOL_INVOKE_ERROR, `unsupported request type: ${String(data.type).slice(0, 64)}`);
    }
    switch (action) {
      case 'invoke_tool':
        await this.invokeTool(data, context, send);
        return;
      case 'validate_tool_credentials':
        setFallbackType(CREDENTIAL_VALIDATION_ERROR);
        await this.handlers.validateCredentials(
          { provider: String(data.provider ?? ''), credentials: objectOrEmpty(data.credentials) },
          context,
        );
        await send(streamFrame(context.sessionId, { result: true }));
        return;
      case 'get_tool_runtime_parameters':
        throw new PluginError(TOOL_INVOKE_ERROR, 'no tool of this plugin declares runtime parameters');
      default:
        throw new PluginError(TOOL_INVOKE_ERROR, `unknown action: ${action.slice(0, 64) || '(none)'}`);
    }
  }

  private async invokeTool(data: Json, context: SessionContext, send: Send): Promise<void> {
    const request = {
      provider: String(data.provider ?? ''),
      tool: String(data.tool ?? ''),
      toolParameters: objectOrEmpty(data.tool_parameters),
      credentials: objectOrEmpty(data.credentials),
      credentialType: typeof data.credential_type === 'string' ? data.credential_type : undefined,
    };
    context.logger.debug({ tool: request.tool.slice(0, 64) }, 'invoke_tool');
    for await (const message of this.handlers.invokeTool(request, context)) {
      await this.sendMessage(context.sessionId, message, send);
      if (context.signal.aborted) break;
    }
  }

  /** Sends one tool message; a text too long for one line goes out in pieces, anything else too long fails. */
  private async sendMessage(sessionId: string, message: ToolMessage, send: Send): Promise<void> {
    try {
      await send(streamFrame(sessionId, message));
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      if (message.type !== 'text') {
        throw new PluginError(
          TOOL_INVOKE_ERROR,
          `the tool produced a ${message.type} message of ${error.bytes} bytes, above the protocol's 5 MiB line limit`,
        );
      }
      for (const text of splitText(message.message.text)) {
        await send(streamFrame(sessionId, { type: 'text', message: { text }, meta: message.meta }));
      }
    }
  }

  private lost(log: Logger, error: unknown): void {
    log.debug({ reason: (error as Error)?.message }, 'could not write to the daemon; frame dropped');
  }
}

/** Rejects with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Resolves true if `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
