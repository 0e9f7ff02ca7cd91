/**
 * A loopback fake of Dify's INNER API, the part the plugin daemon calls for a plugin's backwards model calls
 * (internal/core/dify_invocation/calldify in the daemon source): `POST /inner/api/invoke/text-embedding`,
 * `/inner/api/invoke/rerank` (a JSON body `{"data": …, "error": ""}`) and `/inner/api/invoke/llm` (a stream of
 * length-prefixed frames, each `{"data": <LLMResultChunk>, "error": ""}`: magic 0x0f, a reserved byte, the header
 * length 10 (LE16), then the data length (LE32) and 6 reserved bytes, then the data — pkg/utils/parser/chunking.go).
 * Every call must carry the daemon's `X-Inner-Api-Key`; each request's body (tenant_id, user_id, provider, model, …)
 * is recorded. The answers are tests/helpers/workspace-models.ts's `answerModelCall` (hashed bag-of-words
 * embeddings, word-overlap rerank scores, an LLM function of the prompts).
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerModelCall } from './workspace-models.js';
import type { LlmAnswer, ModelInvokeType } from './workspace-models.js';

export interface InnerCall {
  path: string;
  apiKey: string | undefined;
  body: Record<string, unknown>;
}

/** Dify's inner API routes the daemon calls (calldify/http_request.go) → the invoke type they serve. */
const ROUTES: Record<string, ModelInvokeType | undefined> = {
  '/inner/api/invoke/text-embedding': 'text_embedding',
  '/inner/api/invoke/rerank': 'rerank',
  '/inner/api/invoke/llm': 'llm',
};

/** One frame of the daemon's length-prefixed stream format. */
function lengthPrefixed(payload: unknown): Buffer {
  const data = Buffer.from(JSON.stringify(payload), 'utf8');
  const head = Buffer.alloc(14);
  head[0] = 0x0f;
  head.writeUInt16LE(0x0a, 2);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
}


export class FakeDifyInnerApi {
  readonly calls: InnerCall[] = [];
  /** Paths whose next call answers `{"data": null, "error": <message>}` (how Dify reports a failed model call; for the
   * LLM as one frame of its stream). */
  readonly failures = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly apiKey: string,
    private readonly dims: number,
    private readonly llm: LlmAnswer,
  ) {}

  static async start(options: { apiKey: string; dims: number; llm: LlmAnswer }): Promise<FakeDifyInnerApi> {
    const holder: { fake?: FakeDifyInnerApi } = {};
    const server = createServer((req, res) => void holder.fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new FakeDifyInnerApi(server, `http://127.0.0.1:${port}`, options.apiKey, options.dims, options.llm);
    return holder.fake;
  }

  callsTo(path: string): InnerCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '').split('?')[0] ?? '';
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      body = {};
    }
    const apiKey = req.headers['x-inner-api-key'] as string | undefined;
    this.calls.push({ path, apiKey, body });
    if (req.method !== 'POST' || apiKey !== this.apiKey) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad inner api key' }));
      return;
    }
    const failure = this.failures.get(path);
    if (failure !== undefined) {
      this.failures.delete(path);
      // The LLM's answer is a stream: its failure comes as one frame of that stream.
      if (path === '/inner/api/invoke/llm') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(lengthPrefixed({ data: null, error: failure }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: null, error: failure }));
      return;
    }
    const type = ROUTES[path];
    if (!type) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${path}` }));
      return;
    }
    const answers = answerModelCall(type, body, this.dims, this.llm);
    if (type !== 'llm') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: answers[0]?.[1], error: '' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (const [, chunk] of answers) res.write(lengthPrefixed({ data: chunk, error: '' }));
    res.end();
  }
}
