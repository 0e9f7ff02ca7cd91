// Line framing and the stream transport, with in-process streams.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, LineReader, MAX_OUTPUT_LINE_BYTES, encodeFrame } from '../../src/runtime/framing.js';
import { StreamTransport } from '../../src/runtime/stream-transport.js';
import { MalformedLineError, OversizedLineError, TransportClosedError } from '../../src/runtime/transport.js';

describe('LineReader', () => {
  it('splits on newlines across chunk boundaries, drops blank lines and trims \\r', () => {
    const reader = new LineReader(1024);
    expect(reader.push(Buffer.from('{"a":1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(reader.push(Buffer.from(':2}\r\n\n\n  \n{"c":'))).toEqual(['{"b":2}']);
    expect(reader.buffered).toBe(5);
    expect(reader.push(Buffer.from('3}\n'))).toEqual(['{"c":3}']);
    expect(reader.buffered).toBe(0);
  });

  it('keeps multi-byte characters whole when a chunk splits them', () => {
    const reader = new LineReader(1024);
    const bytes = Buffer.from('{"t":"héllo 世界 🎉"}\n');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...reader.push(bytes.subarray(i, i + 1)));
    expect(lines).toEqual(['{"t":"héllo 世界 🎉"}']);
  });

  it('skips a line longer than the cap, reports its size, and keeps the next line', () => {
    const sizes: number[] = [];
    const reader = new LineReader(100, (bytes) => sizes.push(bytes));
    const long = 'x'.repeat(250);
    const out: string[] = [];
    out.push(...reader.push(Buffer.from('ok1\n' + long.slice(0, 120))));
    expect(reader.buffered).toBe(0); // stopped holding bytes once past the cap
    out.push(...reader.push(Buffer.from(long.slice(120) + '\nok2\n')));
    expect(out).toEqual(['ok1', 'ok2']);
    expect(sizes).toEqual([250]);
  });

  it('skips an over-cap line that arrives in one chunk', () => {
    const sizes: number[] = [];
    const reader = new LineReader(10, (bytes) => sizes.push(bytes));
    expect(reader.push(Buffer.from('01234567890123\nshort\n'))).toEqual(['short']);
    expect(sizes).toEqual([14]);
  });

  it('accepts an 8 MiB line with the default cap', () => {
    const reader = new LineReader();
    const line = 'a'.repeat(8 * 1024 * 1024);
    expect(reader.push(Buffer.from(line + '\n'))).toEqual([line]);
  });
});

describe('encodeFrame', () => {
  it('produces one line even when strings contain newlines', () => {
    const line = encodeFrame({ text: 'a\nb\r\nc\u2028' });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ text: 'a\nb\r\nc\u2028' });
  });

  it('refuses frames above the daemon line limit, counting bytes not characters', () => {
    expect(() => encodeFrame({ t: 'x'.repeat(MAX_OUTPUT_LINE_BYTES) })).toThrow(FrameTooLargeError);
    // 2 million 3-byte characters = 6 MB although only 2 M characters.
    expect(() => encodeFrame({ t: '世'.repeat(2_000_000) })).toThrow(FrameTooLargeError);
    expect(encodeFrame({ t: '世'.repeat(1_000_000) }).length).toBe(1_000_008);
  });
});

/** A writable that accepts `capacity` bytes and then reports backpressure until `release()`. */
class SlowSink extends Writable {
  readonly chunks: string[] = [];
  private pending: (() => void) | null = null;

  constructor() {
    super({ highWaterMark: 16, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(String(chunk));
    this.pending = callback;
  }

  release(): void {
    const callback = this.pending;
    this.pending = null;
    callback?.();
  }
}

describe('StreamTransport', () => {
  it('delivers parsed messages and reports malformed and oversized lines', async () => {
    const input = new PassThrough();
    const transport = new StreamTransport(input, new PassThrough(), { maxLineBytes: 64 });
    const messages: unknown[] = [];
    const errors: Error[] = [];
    transport.onmessage = (m) => messages.push(m);
    transport.onerror = (e) => errors.push(e);
    await transport.start();
    await expect(transport.start()).rejects.toThrow('already started');
    input.write('{"a":1}\nnot json\n' + 'y'.repeat(100) + '\n[2]\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages).toEqual([{ a: 1 }, [2]]);
    expect(errors).toHaveLength(2);
    const malformed = errors.find((e) => e instanceof MalformedLineError) as MalformedLineError;
    expect(malformed.preview).toBe('not json');
    expect(errors.find((e) => e instanceof OversizedLineError)).toMatchObject({ bytes: 100 });
  });

  it('writes one line per frame and waits for drain under backpressure', async () => {
    const sink = new SlowSink();
    const transport = new StreamTransport(new PassThrough(), sink);
    const first = transport.send({ n: 1 });
    await first; // the first write fits
    let secondDone = false;
    const second = transport.send({ n: 2, pad: 'x'.repeat(64) }).then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondDone).toBe(false);
    sink.release();
    sink.release();
    await second;
    expect(sink.chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).n)).toEqual([1, 2]);
  });

  it('fires onclose once when input ends, and rejects sends after close', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const transport = new StreamTransport(input, output, { onCloseOutput: 'destroy' });
    let closes = 0;
    transport.onclose = () => closes++;
    await transport.start();
    input.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closes).toBe(1);
    await transport.close();
    await transport.close();
    expect(closes).toBe(1);
    await expect(transport.send({})).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('never interleaves lines from many concurrent senders', async () => {
    const output = new PassThrough();
    const transport = new StreamTransport(new PassThrough(), output);
    let text = '';
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => (text += chunk));
    await Promise.all(Array.from({ length: 500 }, (_, i) => transport.send({ i, pad: 'z'.repeat(i * 10) })));
    await new Promise((resolve) => setImmediate(resolve));
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
