/**
 * The one seam between the protocol (sessions, heartbeats, registration) and the bytes (stdio, TCP).
 * Protocol code talks to a {@link Transport}; it never sees a stream or a socket.
 * @module
 */

export interface Transport {
  /** Starts reading. Throws if called twice. Sending works before start (the first heartbeat goes out early). */
  start(): Promise<void>;
  /**
   * Writes one frame as one line. Resolves once the line is accepted by the stream, waiting for `drain` when the
   * peer is slow. Rejects with {@link TransportClosedError} when the transport can no longer write and with
   * `FrameTooLargeError` when the frame is too long (nothing is written then).
   */
  send(frame: unknown): Promise<void>;
  /** Stops reading and releases the underlying stream. Safe to call twice. */
  close(): Promise<void>;

  /** One parsed JSON value per incoming line. */
  onmessage?: (message: unknown) => void;
  /** Malformed input, oversized lines and stream errors. The transport keeps running unless it also closes. */
  onerror?: (error: Error) => void;
  /** The input side ended (or close() was called): no more messages will arrive. Called once. */
  onclose?: () => void;
}

/** A line that was not JSON. Keeps a short preview: a remote daemon reports registration failures as plain text. */
export class MalformedLineError extends Error {
  readonly code = 'MALFORMED_LINE';
  readonly preview: string;

  constructor(preview: string, reason: string) {
    super(`skipped a line that is not a JSON frame (${reason})`);
    this.name = 'MalformedLineError';
    this.preview = preview;
  }
}

/** An incoming line above the size cap; it was skipped. */
export class OversizedLineError extends Error {
  readonly code = 'OVERSIZED_LINE';
  readonly bytes: number;

  constructor(bytes: number, limit: number) {
    super(`skipped an incoming line of ${bytes} bytes (limit ${limit})`);
    this.name = 'OversizedLineError';
    this.bytes = bytes;
  }
}

/** Sending on a transport whose stream is gone; also the abort reason of sessions whose connection was lost. */
export class TransportClosedError extends Error {
  readonly code = 'CONNECTION_CLOSED';

  constructor(message = 'transport is closed') {
    super(message);
    this.name = 'TransportClosedError';
  }
}
