/**
 * {@link Transport} over a readable and a writable stream: stdin/stdout for an installed plugin, both ends of one
 * socket for remote debugging. Streams come in through the constructor so tests can pass their own.
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_MAX_INPUT_LINE_BYTES, LineReader, encodeFrame } from './framing.js';
import { MalformedLineError, OversizedLineError, TransportClosedError } from './transport.js';
import type { Transport } from './transport.js';

export interface StreamTransportOptions {
  /** Cap for one incoming line; longer lines are skipped. */
  maxLineBytes?: number;
  /** What close() does to the output: 'end' flushes and ends it, 'destroy' drops it (sockets), 'keep' (stdout). */
  onCloseOutput?: 'end' | 'destroy' | 'keep';
}

const PREVIEW_CHARS = 512;

export class StreamTransport implements Transport {
  onmessage?: (message: unknown) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private readonly reader: LineReader;
  private started = false;
  private inputEnded = false;
  private outputClosed = false;
  private closed = false;
  /** Senders waiting for 'drain'; released (or rejected) together. */
  private drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: StreamTransportOptions = {},
  ) {
    const limit = options.maxLineBytes ?? DEFAULT_MAX_INPUT_LINE_BYTES;
    this.reader = new LineReader(limit, (bytes) => this.onerror?.(new OversizedLineError(bytes, limit)));
    output.on('drain', this.handleDrain);
    output.on('error', this.handleOutputError);
    output.on('close', this.handleOutputClose);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('StreamTransport already started');
    if (this.closed) throw new TransportClosedError();
    this.started = true;
    this.input.on('data', this.handleData);
    this.input.on('end', this.handleInputEnd);
    this.input.on('close', this.handleInputEnd);
    this.input.on('error', this.handleInputError);
    this.input.resume();
  }

  send(frame: unknown): Promise<void> {
    if (this.outputClosed || this.closed) return Promise.reject(new TransportClosedError());
    let line: string;
    try {
      line = encodeFrame(frame);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // One write per frame: the stream keeps whole chunks in order, so lines never interleave.
    if (this.output.write(line + '\n')) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.handleData);
    this.input.pause();
    const mode = this.options.onCloseOutput ?? 'keep';
    if (mode === 'destroy') this.output.destroy();
    else if (mode === 'end' && !this.output.writableEnded) {
      await new Promise<void>((resolve) => this.output.end(resolve));
    }
    this.rejectWaiters(new TransportClosedError());
    this.endInput();
  }

  private readonly handleData = (chunk: Buffer | string): void => {
    const lines = this.reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    for (const line of lines) {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch (error) {
        this.onerror?.(new MalformedLineError(line.slice(0, PREVIEW_CHARS), (error as Error).message));
        continue;
      }
      this.onmessage?.(message);
    }
  };

  private readonly handleInputEnd = (): void => this.endInput();

  private readonly handleInputError = (error: Error): void => {
    this.onerror?.(error);
    this.endInput();
  };

  private readonly handleDrain = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  };

  private readonly handleOutputError = (error: Error): void => {
    if (this.outputClosed) return;
    this.outputClosed = true;
    this.rejectWaiters(new TransportClosedError(`output failed: ${error.message}`));
    this.onerror?.(error);
  };

  private readonly handleOutputClose = (): void => {
    this.outputClosed = true;
    this.rejectWaiters(new TransportClosedError());
  };

  private rejectWaiters(error: Error): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.reader.clear();
    this.onclose?.();
  }
}
