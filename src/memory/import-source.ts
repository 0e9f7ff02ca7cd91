/**
 * Where an import reads from: a URL (a file parameter from Dify arrives as a signed URL of Dify's file service; an
 * operator may give any http(s) URL). Only http and https are fetched; the body is read as a stream, a line at a
 * time, and refused past a size limit, so a large or endless answer never fills memory.
 * @module
 */
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EngineError } from '../shared/errors.js';

/** Largest import source by default (MEM0_IMPORT_MAX_BYTES overrides): ample for 100 000 memories with history. */
export const DEFAULT_IMPORT_MAX_BYTES = 200 * 1024 * 1024;

export function importMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.MEM0_IMPORT_MAX_BYTES);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_IMPORT_MAX_BYTES;
}

/** Checks an import URL; the message names the parameter. @throws EngineError('invalid_params') */
export function checkImportUrl(raw: string, parameter: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EngineError('invalid_params', `${parameter} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EngineError('invalid_params', `${parameter} must be an http or https URL, not ${url.protocol.replace(/:$/, '')}`);
  }
  return url;
}

/** The lines of the document at `url`, streamed. Fails when the answer is not 2xx or grows past `maxBytes`. */
export async function* linesFromUrl(url: URL, options: { maxBytes: number; signal: AbortSignal }): AsyncGenerator<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal, redirect: 'follow' });
  } catch (error) {
    throw new EngineError('upstream', `fetching the import file from ${url.origin} failed: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new EngineError('upstream', `fetching the import file from ${url.origin} answered HTTP ${response.status}`, { status: response.status });
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body.cancel();
    throw new EngineError('invalid_params', `the import file has ${declared} bytes, more than the limit of ${options.maxBytes} (MEM0_IMPORT_MAX_BYTES)`);
  }
  let seen = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > options.maxBytes) {
        callback(new EngineError('invalid_params', `the import file is larger than the limit of ${options.maxBytes} bytes (MEM0_IMPORT_MAX_BYTES)`));
        return;
      }
      callback(null, chunk);
    },
  });
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  body.on('error', (error) => limit.destroy(error));
  const lines = createInterface({ input: body.pipe(limit), crlfDelay: Infinity });
  let failure: unknown;
  limit.on('error', (error) => {
    failure = error;
    lines.close();
  });
  try {
    for await (const line of lines) {
      if (failure) break;
      yield line;
    }
    if (failure) throw failure;
  } finally {
    lines.close();
    body.destroy();
  }
}
