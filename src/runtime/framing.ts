/**
 * Line framing for the Dify plugin protocol: one JSON object per `\n`-terminated line, both directions.
 *
 * Limits come from the daemon (langgenius/dify-plugin-daemon, local_runtime/stdio_handle.go): it reads the plugin's
 * stdout with a `bufio.Scanner` whose buffer tops out at 5 MiB, and a longer line stops the reader and with it the
 * plugin. So every frame we write must stay under {@link MAX_OUTPUT_LINE_BYTES}. The daemon may send us long lines
 * (tool parameters are not size-checked), so the reader accepts lines up to a generous cap and skips anything longer
 * without losing the lines that follow.
 * @module
 */

/** Default cap for one incoming line. Above the 8 MiB we promise to accept. */
export const DEFAULT_MAX_INPUT_LINE_BYTES = 16 * 1024 * 1024;

/** Largest frame we write, newline excluded; kept a little under the daemon's 5 MiB scanner buffer. */
export const MAX_OUTPUT_LINE_BYTES = 5 * 1024 * 1024 - 1024;

const NEWLINE = 0x0a;

/** A frame that would exceed {@link MAX_OUTPUT_LINE_BYTES}. Local: never sent to the peer as such. */
export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
  readonly bytes: number;

  constructor(bytes: number) {
    super(`frame of ${bytes} bytes exceeds the ${MAX_OUTPUT_LINE_BYTES}-byte line limit`);
    this.name = 'FrameTooLargeError';
    this.bytes = bytes;
  }
}

/**
 * Serialises one frame to a single line (no trailing newline).
 * JSON.stringify escapes raw newlines inside strings, so the result never contains `\n`.
 * @throws FrameTooLargeError when the line would be too long for the daemon.
 */
export function encodeFrame(frame: unknown): string {
  const line = JSON.stringify(frame);
  if (line === undefined) throw new TypeError('frame is not JSON-serialisable');
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (line.length * 3 > MAX_OUTPUT_LINE_BYTES) {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > MAX_OUTPUT_LINE_BYTES) throw new FrameTooLargeError(bytes);
  }
  return line;
}

/**
 * Splits a byte stream into lines. Feed it chunks with {@link LineReader.push}; it returns the complete lines.
 * Splitting on the byte 0x0A is safe for UTF-8: that byte never occurs inside a multi-byte character.
 * Empty and whitespace-only lines are dropped (the Python SDK ends frames with a blank line).
 */
export class LineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while discarding the rest of a line that already passed the cap. */
  private skipping = false;
  private skippedBytes = 0;

  /**
   * @param maxLineBytes lines longer than this are skipped whole.
   * @param onOversize told the size of each skipped line once its end arrives.
   */
  constructor(
    private readonly maxLineBytes: number = DEFAULT_MAX_INPUT_LINE_BYTES,
    private readonly onOversize: (bytes: number) => void = () => {},
  ) {}

  /** Appends a chunk and returns the lines it completed. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.keep(chunk.subarray(start));
        break;
      }
      this.finishLine(chunk.subarray(start, newline), lines);
      start = newline + 1;
    }
    return lines;
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Drops any unfinished line (e.g. when the connection is replaced). */
  clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    this.skippedBytes = 0;
  }

  private keep(piece: Buffer): void {
    if (this.skipping) {
      this.skippedBytes += piece.length;
      return;
    }
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    if (this.pendingBytes > this.maxLineBytes) {
      // Past the cap: stop holding bytes, just count them until the newline.
      this.skipping = true;
      this.skippedBytes = this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  private finishLine(piece: Buffer, lines: string[]): void {
    if (this.skipping) {
      this.onOversize(this.skippedBytes + piece.length);
      this.skipping = false;
      this.skippedBytes = 0;
      return;
    }
    const total = this.pendingBytes + piece.length;
    if (total > this.maxLineBytes) {
      this.onOversize(total);
    } else {
      const bytes = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece], total);
      const line = bytes.toString('utf8').trim();
      if (line.length > 0) lines.push(line);
    }
    this.pending = [];
    this.pendingBytes = 0;
  }
}
