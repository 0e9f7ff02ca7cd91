/**
 * The CLI's offline demo model (`--demo`): a tiny server on 127.0.0.1 that answers the three OpenAI API calls the
 * plugin makes, so the quick start runs on a fresh machine without an API key. It is NOT a language model and the
 * CLI says so in its output:
 * - fact extraction: every sentence the user said becomes one fact, word for word;
 * - reconciliation: a fact whose text is already stored is left alone (NONE), any other fact is added (ADD);
 * - embeddings: hashed bag of words (each word adds ±1 at a position chosen by its hash), so texts that share words
 *   are near each other; nothing is understood.
 * It recognises the two steps by the answer shape our prompts ask for (src/memory/prompts.ts).
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Vector size when the request does not name one: the embedded store's default `embedding_model_dims`. */
const DEFAULT_DIMS = 1536;
const MODEL = 'offline-demo';

interface ChatBody {
  messages?: Array<{ role?: string; content?: unknown }>;
}

interface EmbeddingBody {
  input?: unknown;
  dimensions?: number;
}

function words(text: string): string[] {
  // Latin-script words whole; each Han/Kana/Hangul character on its own (they are not space-separated).
  return text.toLowerCase().match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{N}]+/gu) ?? [];
}

/** Deterministic unit vector of a text's words. */
export function demoEmbedding(text: string, dims: number = DEFAULT_DIMS): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const word of words(text)) {
    const digest = createHash('sha256').update(word).digest();
    vector[digest.readUInt32LE(0) % dims]! += digest[4]! & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...vector);
  if (norm === 0) vector[0] = 1;
  return norm === 0 ? vector : vector.map((x) => x / norm);
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?。！？])\s*/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function extractFacts(conversation: string): string[] {
  return conversation
    .split('\n')
    .filter((line) => line.startsWith('user: '))
    .flatMap((line) => sentences(line.slice('user: '.length)));
}

function reconcile(userText: string): Array<Record<string, unknown>> {
  const storedPart = /Stored memories:\n([\s\S]*?)\n\nNew facts:/.exec(userText)?.[1] ?? '(none)';
  const factsPart = /New facts:\n([\s\S]*)$/.exec(userText)?.[1] ?? '[]';
  const stored = storedPart.trim() === '(none)' ? [] : (JSON.parse(storedPart) as Array<{ id: number; text: string }>);
  const facts = JSON.parse(factsPart) as string[];
  return facts.map((fact) => {
    const same = stored.find((m) => m.text.trim().toLowerCase() === fact.trim().toLowerCase());
    return same ? { event: 'NONE', id: same.id } : { event: 'ADD', text: fact };
  });
}

/** The content the demo model answers to a chat request. */
export function demoChatAnswer(body: ChatBody): string {
  const messages = body.messages ?? [];
  const system = String(messages.find((m) => m.role === 'system')?.content ?? '');
  const user = String([...messages].reverse().find((m) => m.role === 'user')?.content ?? '');
  if (system.includes('"actions"')) return JSON.stringify({ actions: reconcile(user) });
  if (system.includes('"facts"')) return JSON.stringify({ facts: extractFacts(user.replace(/^Conversation:\n/, '')) });
  return '{}';
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  try {
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'mem0ai-dify demo' }] });
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      const body = (await readJson(req)) as EmbeddingBody;
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: demoEmbedding(String(input ?? ''), body.dimensions) }));
      return send(res, 200, { object: 'list', model: MODEL, data, usage: { prompt_tokens: 0, total_tokens: 0 } });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const content = demoChatAnswer((await readJson(req)) as ChatBody);
      return send(res, 200, {
        id: 'demo',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: MODEL,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      });
    }
    send(res, 404, { error: { message: `the offline demo model does not serve ${req.method} ${path}` } });
  } catch (error) {
    send(res, 400, { error: { message: `the offline demo model could not read the request: ${(error as Error).message}` } });
  }
}

export interface DemoModel {
  /** `openai_base_url` for the LLM and embedder blocks. */
  baseUrl: string;
  /** The LLM and embedder credential blocks pointing at it. */
  credentials: { local_llm_json_secret: string; local_embedder_json_secret: string };
  close(): Promise<void>;
}

/** Starts the demo model on a free loopback port. */
export async function startDemoModel(): Promise<DemoModel> {
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const block = (model: string) => JSON.stringify({ provider: 'openai', config: { model, api_key: 'offline-demo', openai_base_url: baseUrl } });
  return {
    baseUrl,
    credentials: { local_llm_json_secret: block(MODEL), local_embedder_json_secret: block(MODEL) },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
