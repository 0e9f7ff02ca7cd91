/**
 * A loopback fake of the OpenAI HTTP API for tests: `POST /v1/chat/completions` (scripted per test),
 * `POST /v1/embeddings` (deterministic hashed bag-of-words vectors, so texts sharing words are near) and
 * `GET /v1/models`, and Ollama's tag list `GET /api/tags` (so it can stand in for an Ollama server, whose OpenAI API
 * lives under `/v1`). Every request is recorded; failures (status codes, delays, broken bodies) can be injected.
 * It listens on 127.0.0.1 on a free port; nothing here reaches the network.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * What the chat endpoint answers: message content, an HTTP failure, a raw (possibly broken) body, or later (after a
 * delay, or once a promise settles, e.g. a test's `hold()`).
 */
export type ChatReply =
  | string
  | { status: number; error?: string }
  | { rawBody: string; status?: number }
  | { delayMs: number; then: ChatReply }
  | { after: Promise<unknown>; then: ChatReply };

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: { type: string };
  [key: string]: unknown;
}

export type ChatHandler = (body: ChatRequestBody) => ChatReply;

/** Injected failure for the next matching request(s) on a path. */
export interface Failure {
  path: '/v1/chat/completions' | '/v1/embeddings' | '/v1/models' | '/api/tags';
  status?: number;
  delayMs?: number;
  /** Answers only once this settles (e.g. a test's `hold()`). */
  after?: Promise<unknown>;
  rawBody?: string;
  times?: number;
}

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ChatReply[] = [];
  private handler: ChatHandler | undefined;
  private readonly failures: Failure[] = [];

  private readonly server: Server;
  private listeningOn: number | undefined;

  private constructor(
    /** Vector size when the request does not ask for `dimensions`. */
    public dims: number,
  ) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async start(options: { dims?: number } = {}): Promise<FakeOpenAI> {
    const fake = FakeOpenAI.unstarted(options);
    await fake.listen();
    return fake;
  }

  /** A fake that answers only once {@link listen} has resolved (see {@link useFakeModel}). */
  static unstarted(options: { dims?: number } = {}): FakeOpenAI {
    return new FakeOpenAI(options.dims ?? 64);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.listeningOn = (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    if (this.listeningOn === undefined) throw new Error('fake-openai: not listening yet (read it inside a hook or test)');
    return this.listeningOn;
  }

  /** Base URL to configure as `openai_base_url`. */
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Queues chat answers, used in order; after the queue runs dry the handler (if any) answers. */
  reply(...replies: ChatReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  onChat(handler: ChatHandler): this {
    this.handler = handler;
    return this;
  }

  fail(failure: Failure): this {
    this.failures.push({ times: 1, ...failure });
    return this;
  }

  /** Recorded requests to one path. */
  calls(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  chatCalls(): ChatRequestBody[] {
    return this.calls('/v1/chat/completions').map((r) => r.body as ChatRequestBody);
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.failures.length = 0;
    this.handler = undefined;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body });

    const failure = this.failures.find((f) => f.path === path && (f.times ?? 1) > 0);
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.delayMs) await sleep(failure.delayMs);
      if (failure.after) await failure.after;
      if (failure.rawBody !== undefined) return send(res, failure.status ?? 200, failure.rawBody, true);
      if (failure.status) return send(res, failure.status, errorBody(failure.status));
    }

    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', owned_by: 'fake' }] });
    }
    if (req.method === 'GET' && path === '/api/tags') return send(res, 200, { models: [{ name: 'fake-model:latest', model: 'fake-model:latest' }] });
    if (req.method === 'POST' && path === '/v1/embeddings') return this.embeddings(res, body as EmbeddingBody);
    if (req.method === 'POST' && path === '/v1/chat/completions') return this.chat(res, body as ChatRequestBody);
    return send(res, 404, errorBody(404));
  }

  private embeddings(res: ServerResponse, body: EmbeddingBody): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const dims = typeof body.dimensions === 'number' ? body.dimensions : this.dims;
    send(res, 200, {
      object: 'list',
      model: body.model,
      data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: embedText(String(input), dims) })),
      usage: { prompt_tokens: 1, total_tokens: 1 },
    });
  }

  private async chat(res: ServerResponse, body: ChatRequestBody): Promise<void> {
    let reply: ChatReply | undefined = this.queue.shift() ?? this.handler?.(body);
    if (reply === undefined) return send(res, 500, errorBody(500, 'fake-openai: no scripted reply left'));
    while (typeof reply === 'object' && 'then' in reply) {
      await ('after' in reply ? reply.after : sleep(reply.delayMs));
      reply = reply.then;
    }
    if (typeof reply === 'object' && 'rawBody' in reply) return send(res, reply.status ?? 200, reply.rawBody, true);
    if (typeof reply === 'object') return send(res, reply.status, errorBody(reply.status, reply.error));
    send(res, 200, {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  }
}

interface EmbeddingBody {
  model: string;
  input: string | string[];
  dimensions?: number;
}

/**
 * Deterministic unit vector: each word (or CJK character) adds ±1 at a hashed position. Texts sharing words get
 * a high cosine similarity; unrelated texts land near 0.
 */
export function embedText(text: string, dims: number): number[] {
  const vector = new Array<number>(dims).fill(0);
  const tokens = text.toLowerCase().match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{N}]+/gu) ?? [];
  for (const token of tokens) {
    const digest = createHash('md5').update(token).digest();
    const index = digest.readUInt32BE(0) % dims;
    vector[index]! += (digest[4]! & 1) === 0 ? 1 : -1;
  }
  const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0));
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((x) => x / norm);
}

/** A request's body: its JSON, or its raw text when that is not JSON (a fake records what it was sent), null when empty. */
export async function readBody(req: AsyncIterable<unknown>): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function errorBody(status: number, message?: string): unknown {
  return { error: { message: message ?? `fake-openai error ${status}`, type: 'fake_error', code: String(status) } };
}

function send(res: ServerResponse, status: number, body: unknown, raw = false): void {
  const text = raw ? String(body) : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
