/**
 * Keeps stdout for protocol frames only. In stdio mode any stray byte on stdout (a dependency's console.log, a
 * progress bar) would corrupt the frame stream, so:
 * - the frame transport gets a private Writable that writes to the real stdout;
 * - `process.stdout.write` itself is pointed at stderr, which also catches `console.log`/`console.info`
 *   (Node's console looks up `stream.write` on every call).
 * @module
 */
import { Writable } from 'node:stream';

type RawWrite = (chunk: string | Uint8Array, callback: (error?: Error | null) => void) => boolean;

let guarded: Writable | null = null;

/** Installs the guard once and returns the frame-only stdout stream. */
export function protectStdout(): Writable {
  if (guarded) return guarded;
  const stdout = process.stdout;
  const realWrite = stdout.write.bind(stdout) as RawWrite;
  const stderrWrite = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;

  // A closed pipe (daemon gone) must not crash the plugin; the transport sees the error through the frame stream.
  stdout.on('error', () => {});

  const frames = new Writable({
    // The callback fires once the real stdout has taken the bytes, so 'drain' here means the daemon is reading.
    highWaterMark: 1024 * 1024,
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      realWrite(chunk, (error) => callback(error ?? null));
    },
    // Lines queued while stdout was busy go out in one write; each is complete, so joining keeps them whole.
    writev(chunks, callback) {
      const parts = chunks.map((c) => c.chunk as string | Buffer);
      const joined = parts.every((p) => typeof p === 'string')
        ? (parts as string[]).join('')
        : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
      realWrite(joined, (error) => callback(error ?? null));
    },
  });

  stdout.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) =>
    stderrWrite(chunk, encoding, callback)) as typeof stdout.write;

  guarded = frames;
  return frames;
}
