/**
 * The seam between the Dify protocol (runtime/) and what the plugin does (tools/).
 * The runtime turns request frames into calls on {@link PluginHandlers} and turns what they yield or throw into
 * stream / error / end frames. Handlers never see frames, sockets or session routing.
 * @module
 */
import type { Logger } from 'pino';
import type { BackwardsInvoker } from './backwards.js';

/** A message a tool streams back; the shapes are Dify's ToolInvokeMessage types we use. */
export type ToolMessage =
  | { type: 'text'; message: { text: string }; meta: null }
  | { type: 'json'; message: { json_object: Record<string, unknown> }; meta: null }
  | { type: 'variable'; message: { variable_name: string; variable_value: unknown; stream: boolean }; meta: null }
  /** A piece of a file (at most 8192 raw bytes, base64); Dify joins the pieces of one `id` when `end` is true. */
  | {
      type: 'blob_chunk';
      message: { id: string; sequence: number; total_length: number; blob: string; end: boolean };
      meta: { mime_type: string; filename: string };
    };

export interface InvokeToolRequest {
  provider: string;
  tool: string;
  toolParameters: Record<string, unknown>;
  credentials: Record<string, unknown>;
  credentialType?: string | undefined;
}

export interface ValidateCredentialsRequest {
  provider: string;
  credentials: Record<string, unknown>;
}

/** What a handler knows about the session it serves. */
export interface SessionContext {
  sessionId: string;
  userId: string | null;
  appId: string | null;
  conversationId: string | null;
  messageId: string | null;
  /** Aborted when the plugin shuts down or the connection carrying the session is lost. */
  signal: AbortSignal;
  logger: Logger;
  /**
   * Calls back into Dify within this session (plugin storage, the workspace's models); absent where no daemon
   * is on the other end (in-process tests, a command line).
   */
  backwards?: BackwardsInvoker | undefined;
}

export interface PluginHandlers {
  /** Streams the tool's messages; throwing ends the session with an error frame. */
  invokeTool(request: InvokeToolRequest, context: SessionContext): AsyncIterable<ToolMessage>;
  /** Resolves when the credentials are good; throws {@link PluginError} (CredentialValidationError) naming the field otherwise. */
  validateCredentials(request: ValidateCredentialsRequest, context: SessionContext): Promise<void>;
  /** Releases pools, timers and workers; called once on shutdown. */
  close(): Promise<void>;
}

/**
 * An error meant for the daemon: becomes `{"type":"error","data":{"error_type","message","args"}}`.
 * `errorType` names follow the Python SDK's exception class names so Dify shows them the same way.
 */
export class PluginError extends Error {
  readonly errorType: string;
  readonly args: Record<string, unknown>;

  constructor(errorType: string, message: string, args: Record<string, unknown> = {}) {
    super(message);
    this.name = 'PluginError';
    this.errorType = errorType;
    this.args = args;
  }
}

/** Error type Dify expects when provider credentials are rejected. */
export const CREDENTIAL_VALIDATION_ERROR = 'ToolProviderCredentialValidationError';
/** Error type for a failure inside a tool invocation. */
export const TOOL_INVOKE_ERROR = 'PluginInvokeError';
