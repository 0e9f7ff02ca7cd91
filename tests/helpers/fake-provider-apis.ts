/**
 * Loopback fakes of the non-OpenAI provider HTTP APIs the bundled SDKs talk to (Anthropic Messages, Groq, Mistral,
 * Gemini, Azure OpenAI, AWS Bedrock runtime, Cohere rerank, ZeroEntropy rerank). Each is a real HTTP server on 127.0.0.1 that records the
 * request exactly as the SDK sent it (method, path, query, headers, JSON body) and answers in that provider's own
 * response shape. What the "model" says is decided by a {@link Brain} from the system and user text, so one scripted
 * behaviour serves every provider. Failures (status codes, delays) can be injected per path.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { embedText, readBody } from './fake-openai.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** The model's answer to a system + user prompt (the fakes wrap it in each provider's shape). */
export type Brain = (system: string, user: string) => string;

/** A rerank scorer: relevance 0–1 of a document to a query. */
export type Scorer = (query: string, document: string) => number;

interface Reply {
  status: number;
  body: unknown;
}

type Route = (request: ApiRequest) => Reply | undefined;

interface Injected {
  path: string;
  status?: number;
  delayMs?: number;
  after?: Promise<unknown>;
  times: number;
}

export class FakeApi {
  readonly requests: ApiRequest[] = [];
  private readonly injected: Injected[] = [];

  private readonly sessions = new Set<Http2Session>();

  private constructor(
    private readonly server: Server | ReturnType<typeof createH2cServer>,
    readonly port: number,
    private readonly route: Route,
  ) {}

  /** `http2`: speak HTTP/2 without TLS (h2c), as the AWS Bedrock runtime client does by default. */
  static async start(route: Route, options: { http2?: boolean } = {}): Promise<FakeApi> {
    const holder: { fake?: FakeApi } = {};
    const server = options.http2
      ? createH2cServer((req, res) => void holder.fake!.handle(req, res))
      : createServer((req, res) => void holder.fake!.handle(req, res));
    if (options.http2) server.on('session', (session: Http2Session) => holder.fake!.sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.fake = new FakeApi(server, (server.address() as AddressInfo).port, route);
    return holder.fake;
  }

  /** `http://127.0.0.1:<port>` plus an optional path prefix. */
  url(prefix = ''): string {
    return `http://127.0.0.1:${this.port}${prefix}`;
  }

  /** The next `times` requests to `path` fail with `status` (after `delayMs`, and once `after` settles, if given). */
  fail(path: string, failure: { status?: number; delayMs?: number; after?: Promise<unknown>; times?: number }): this {
    this.injected.push({ path, times: failure.times ?? 1, ...failure });
    return this;
  }

  calls(path: string | RegExp): ApiRequest[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  reset(): void {
    this.requests.length = 0;
    this.injected.length = 0;
  }

  close(): Promise<void> {
    if ('closeAllConnections' in this.server) this.server.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: ApiRequest = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    this.requests.push(request);
    const failure = this.injected.find((f) => f.path === request.path && f.times > 0);
    if (failure) {
      failure.times -= 1;
      if (failure.delayMs) await new Promise((resolve) => setTimeout(resolve, failure.delayMs));
      if (failure.after) await failure.after;
      if (failure.status) return send(res, { status: failure.status, body: { error: { message: `fake error ${failure.status}`, type: 'fake_error' } } });
    }
    send(res, this.route(request) ?? { status: 404, body: { error: { message: `no fake route for ${request.method} ${request.path}` } } });
  }
}

function send(res: ServerResponse | Http2ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

type Message = { role: string; content: unknown };

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? '').join('');
  return '';
}

/** The system and user text of an OpenAI-style `messages` list. */
function openAiPrompt(body: { messages?: Message[] }): [string, string] {
  const messages = body.messages ?? [];
  const system = messages.filter((m) => m.role === 'system').map((m) => text(m.content)).join('\n');
  const user = messages.filter((m) => m.role === 'user').map((m) => text(m.content)).join('\n');
  return [system, user];
}

function openAiCompletion(model: unknown, content: string): unknown {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/** Anthropic Messages API: `POST /v1/messages`. */
export function anthropicApi(brain: Brain): Route {
  return (r) => {
    if (r.method !== 'POST' || r.path !== '/v1/messages') return undefined;
    const body = r.body as { model: string; system?: unknown; messages: Message[] };
    const user = body.messages.filter((m) => m.role === 'user').map((m) => text(m.content)).join('\n');
    return {
      status: 200,
      body: {
        id: 'msg_fake', type: 'message', role: 'assistant', model: body.model,
        content: [{ type: 'text', text: brain(text(body.system), user) }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 },
      },
    };
  };
}

/** Groq's OpenAI-style API under `/openai/v1`. */
export function groqApi(brain: Brain): Route {
  return (r) => {
    if (r.method !== 'POST' || r.path !== '/openai/v1/chat/completions') return undefined;
    const body = r.body as { model: string; messages: Message[] };
    const completion = openAiCompletion(body.model, brain(...openAiPrompt(body))) as Record<string, unknown>;
    return { status: 200, body: { ...completion, system_fingerprint: 'fp_fake', x_groq: { id: 'req_fake' } } };
  };
}

/** Mistral chat completions: `POST /v1/chat/completions` (the SDK validates this shape strictly). */
export function mistralApi(brain: Brain): Route {
  return (r) => {
    if (r.method !== 'POST' || r.path !== '/v1/chat/completions') return undefined;
    const body = r.body as { model: string; messages: Message[] };
    return {
      status: 200,
      body: {
        id: 'cmpl-fake', object: 'chat.completion', model: body.model, created: Math.floor(Date.now() / 1000),
        choices: [{ index: 0, message: { role: 'assistant', content: brain(...openAiPrompt(body)), tool_calls: null }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      },
    };
  };
}

/** Azure OpenAI: `/openai/deployments/<deployment>/{chat/completions,embeddings}?api-version=…`. */
export function azureApi(brain: Brain, dims: number): Route {
  return (r) => {
    const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(r.path);
    if (r.method !== 'POST' || !match) return undefined;
    if (match[2] === 'embeddings') return { status: 200, body: openAiEmbeddings(r.body as EmbeddingBody, dims) };
    const body = r.body as { model: string; messages: Message[] };
    return { status: 200, body: openAiCompletion(body.model, brain(...openAiPrompt(body))) };
  };
}

interface EmbeddingBody {
  model: string;
  input: string | string[];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
}

/** OpenAI's embeddings answer; base64 (little-endian float32) when asked, as the OpenAI SDK asks by default. */
function openAiEmbeddings(body: EmbeddingBody, dims: number): unknown {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const size = body.dimensions ?? dims;
  const encode = (vector: number[]) => (body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector);
  return {
    object: 'list', model: body.model,
    data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: encode(embedText(String(input), size)) })),
    usage: { prompt_tokens: 1, total_tokens: 1 },
  };
}

interface GeminiContent {
  role?: string;
  parts?: Array<{ text?: string }>;
}

function geminiText(content: GeminiContent | string | undefined): string {
  if (typeof content === 'string') return content;
  return (content?.parts ?? []).map((p) => p.text ?? '').join('');
}

/**
 * Gemini API (v1beta): `models/<model>:generateContent`, `:embedContent` and `:batchEmbedContents`. Vectors have
 * `outputDimensionality` entries when asked, else `dims`.
 */
export function geminiApi(brain: Brain, dims: number): Route {
  return (r) => {
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|embedContent|batchEmbedContents)$/.exec(r.path);
    if (r.method !== 'POST' || !match) return undefined;
    if (match[2] === 'generateContent') {
      const body = r.body as { contents: GeminiContent[]; systemInstruction?: GeminiContent; generationConfig?: unknown };
      const user = body.contents.filter((c) => c.role !== 'model').map(geminiText).join('\n');
      return {
        status: 200,
        body: {
          candidates: [{ content: { parts: [{ text: brain(geminiText(body.systemInstruction), user) }], role: 'model' }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
          modelVersion: match[1],
        },
      };
    }
    type EmbedRequest = { content: GeminiContent; outputDimensionality?: number };
    const embed = (req: EmbedRequest) => ({ values: embedText(geminiText(req.content), req.outputDimensionality ?? dims) });
    if (match[2] === 'embedContent') return { status: 200, body: { embedding: embed(r.body as EmbedRequest) } };
    return { status: 200, body: { embeddings: (r.body as { requests: EmbedRequest[] }).requests.map(embed) } };
  };
}

/**
 * AWS Bedrock runtime: `POST /model/<modelId>/converse` (Converse) and `POST /model/<modelId>/invoke` (InvokeModel with
 * a Titan `{inputText}` or Cohere `{texts, input_type}` body). Requests arrive SigV4-signed; the signature is not checked.
 */
export function bedrockApi(brain: Brain, dims: number): Route {
  return (r) => {
    const match = /^\/model\/([^/]+)\/(converse|invoke)$/.exec(r.path);
    if (r.method !== 'POST' || !match) return undefined;
    if (match[2] === 'converse') {
      type Block = { text?: string };
      const body = r.body as { system?: Block[]; messages: Array<{ role: string; content: Block[] }> };
      const join = (blocks: Block[] = []) => blocks.map((b) => b.text ?? '').join('');
      const user = body.messages.filter((m) => m.role === 'user').map((m) => join(m.content)).join('\n');
      return {
        status: 200,
        body: {
          output: { message: { role: 'assistant', content: [{ text: brain(join(body.system), user) }] } },
          stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, metrics: { latencyMs: 1 },
        },
      };
    }
    const body = r.body as { inputText?: string; dimensions?: number; texts?: string[] };
    if (body.texts) return { status: 200, body: { id: 'emb-fake', response_type: 'embeddings_floats', texts: body.texts, embeddings: body.texts.map((t) => embedText(t, dims)) } };
    return { status: 200, body: { embedding: embedText(body.inputText ?? '', body.dimensions ?? dims), inputTextTokenCount: 1 } };
  };
}

function ranked(scorer: Scorer, query: string, documents: Array<string | { text: string }>): Array<{ index: number; relevance_score: number }> {
  return documents
    .map((d, index) => ({ index, relevance_score: scorer(query, typeof d === 'string' ? d : d.text) }))
    .sort((a, b) => b.relevance_score - a.relevance_score);
}

/** Cohere's v1 rerank: `POST /v1/rerank`. */
export function cohereApi(scorer: Scorer): Route {
  return (r) => {
    if (r.method !== 'POST' || r.path !== '/v1/rerank') return undefined;
    const body = r.body as { query: string; documents: string[]; top_n?: number };
    return {
      status: 200,
      body: {
        id: 'rerank-fake',
        results: ranked(scorer, body.query, body.documents).slice(0, body.top_n ?? body.documents.length),
        meta: { api_version: { version: '1' }, billed_units: { search_units: 1 } },
      },
    };
  };
}

/** ZeroEntropy's rerank: `POST /v1/models/rerank`. */
export function zeroEntropyApi(scorer: Scorer): Route {
  return (r) => {
    if (r.method !== 'POST' || r.path !== '/v1/models/rerank') return undefined;
    const body = r.body as { query: string; documents: string[] };
    return { status: 200, body: { results: ranked(scorer, body.query, body.documents) } };
  };
}

/** Fraction of the query's words found in the document (a predictable relevance for reranker tests). */
export function wordOverlap(query: string, document: string): number {
  const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const q = words(query);
  const d = words(document);
  if (q.size === 0) return 0;
  return [...q].filter((w) => d.has(w)).length / q.size;
}
