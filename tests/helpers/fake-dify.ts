/**
 * A loopback fake of the two Dify Service API endpoints long-term extraction reads, behaving like Dify does
 * (langgenius/dify api/controllers/service_api/app/{conversation,message}.py and their services):
 * - Bearer app keys; a wrong, missing or revoked key answers 401 `{code: "unauthorized", message, status}`.
 * - `GET /v1/conversations?user=&last_id=&limit=&sort_by=`: limit 1–100 (else 400), conversations of that user in
 *   the app, sorted by the field; `last_id` continues strictly after that conversation's sort value, an unknown one is
 *   404 "Last Conversation Not Exists."; `has_more` only when a full page was returned and more rows follow.
 * - `GET /v1/messages?user=&conversation_id=&first_id=&limit=`: the newest `limit` messages, or with `first_id` the
 *   newest `limit` created strictly before that message; each page chronological; unknown conversation or first
 *   message → 404.
 * - Times are Unix seconds; message fields `query`/`answer` as in Dify.
 * Test controls: scripted apps/users/conversations, revoke a key now or after N requests, inject 500/429 (with
 * Retry-After), connection resets or hangs, and a record of every call.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMessage {
  id: string;
  conversation_id: string;
  query: string;
  answer: string;
  created_at: number;
}

export interface FakeConversation {
  id: string;
  name: string;
  user: string;
  created_at: number;
  updated_at: number;
  messages: FakeMessage[];
}

export interface RecordedCall {
  path: string;
  query: Record<string, string>;
  status: number;
  /** The key used, so tests can check which app was asked. */
  key: string | null;
}

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string | undefined; path?: string | undefined }
  | { kind: 'reset'; path?: string | undefined }
  | { kind: 'hang'; path?: string | undefined };

export interface TurnText {
  query: string;
  answer: string;
}

interface App {
  id: string;
  conversations: FakeConversation[];
}

const SORTS = new Set(['created_at', '-created_at', 'updated_at', '-updated_at']);

export class FakeDify {
  readonly calls: RecordedCall[] = [];
  readonly #apps = new Map<string, App>();
  readonly #keys = new Map<string, { app: string; revokeAfter?: number | undefined; used: number }>();
  readonly #faults: Fault[] = [];
  readonly #hanging = new Set<ServerResponse>();

  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  private listeningOn: number | undefined;

  static async start(): Promise<FakeDify> {
    const fake = new FakeDify();
    await fake.listen();
    return fake;
  }

  /** A fake that answers only once {@link listen} has resolved; apps and conversations can be added before. */
  static unstarted(): FakeDify {
    return new FakeDify();
  }

  private constructor() {}

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.listeningOn = (this.server.address() as AddressInfo).port;
  }

  /** The Service API base URL, as an app's settings give it. */
  get baseUrl(): string {
    if (this.listeningOn === undefined) throw new Error('fake-dify: not listening yet (read it inside a hook or test)');
    return `http://127.0.0.1:${this.listeningOn}/v1`;
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Registers an app and its Service API key. */
  addApp(appId: string, key: string): void {
    if (!this.#apps.has(appId)) this.#apps.set(appId, { id: appId, conversations: [] });
    this.#keys.set(key, { app: appId, used: 0 });
  }

  /** The key stops working now, or after `afterRequests` more authorised requests. */
  revokeKey(key: string, afterRequests = 0): void {
    const entry = this.#keys.get(key);
    if (!entry) throw new Error('unknown key');
    entry.revokeAfter = entry.used + afterRequests;
  }

  /** Faults are used in order, one per matching request (path like "/conversations" or "/messages"). */
  inject(...faults: Fault[]): void {
    this.#faults.push(...faults);
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  countCalls(path?: string): number {
    return path ? this.calls.filter((c) => c.path === path).length : this.calls.length;
  }

  /**
   * Adds a conversation whose messages start at `start` (Unix seconds), `step` seconds apart. Its `updated_at` is
   * the last message's time, as Dify moves it on every message.
   */
  addConversation(
    appId: string,
    user: string,
    options: { start: number; step?: number; turns: TurnText[]; name?: string; id?: string },
  ): FakeConversation {
    const app = this.#app(appId);
    const id = options.id ?? randomUUID();
    const step = options.step ?? 60;
    const messages = options.turns.map((t, i) => ({
      id: randomUUID(),
      conversation_id: id,
      query: t.query,
      answer: t.answer,
      created_at: options.start + i * step,
    }));
    const conversation: FakeConversation = {
      id,
      name: options.name ?? (options.turns[0]?.query.slice(0, 20) || 'New conversation'),
      user,
      created_at: options.start,
      updated_at: messages.at(-1)?.created_at ?? options.start,
      messages,
    };
    app.conversations.push(conversation);
    return conversation;
  }

  /** Appends messages to an existing conversation (moves its `updated_at`). */
  appendMessages(conversation: FakeConversation, options: { start: number; step?: number; turns: TurnText[] }): FakeMessage[] {
    const step = options.step ?? 60;
    const added = options.turns.map((t, i) => ({
      id: randomUUID(),
      conversation_id: conversation.id,
      query: t.query,
      answer: t.answer,
      created_at: options.start + i * step,
    }));
    conversation.messages.push(...added);
    conversation.updated_at = Math.max(conversation.updated_at, added.at(-1)?.created_at ?? 0);
    return added;
  }

  deleteConversation(appId: string, id: string): void {
    const app = this.#app(appId);
    app.conversations = app.conversations.filter((c) => c.id !== id);
  }

  #app(appId: string): App {
    const app = this.#apps.get(appId);
    if (!app) throw new Error(`unknown app ${appId}`);
    return app;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/v1/, '');
    const query = Object.fromEntries(url.searchParams);
    const auth = req.headers.authorization ?? '';
    const key = /^Bearer (.+)$/i.exec(auth)?.[1] ?? null;
    const record: RecordedCall = { path, query, status: 0, key };
    this.calls.push(record);

    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>) =>
      send(status, { code, message, status }, headers);

    const faultAt = this.#faults.findIndex((f) => !f.path || f.path === path);
    if (faultAt >= 0) {
      const [fault] = this.#faults.splice(faultAt, 1);
      if (fault!.kind === 'reset') {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault!.kind === 'hang') {
        record.status = -2;
        this.#hanging.add(res);
        return;
      }
      const status = fault!.status;
      const headers: Record<string, string> = fault!.retryAfter !== undefined ? { 'retry-after': fault!.retryAfter } : {};
      if (status === 429) return fail(429, 'too_many_requests', 'Too many requests, please try again later.', headers);
      return fail(status, 'internal_server_error', 'The server has encountered an internal error.', headers);
    }

    if (req.method !== 'GET' || (path !== '/conversations' && path !== '/messages')) {
      return fail(404, 'not_found', 'The requested URL was not found on the server.');
    }
    const entry = key ? this.#keys.get(key) : undefined;
    if (!auth || !/^Bearer /i.test(auth)) {
      return fail(401, 'unauthorized', "Authorization header must be provided and start with 'Bearer'");
    }
    if (!entry || (entry.revokeAfter !== undefined && entry.used >= entry.revokeAfter)) {
      return fail(401, 'unauthorized', 'Access token is invalid');
    }
    entry.used += 1;
    const app = this.#app(entry.app);

    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return fail(400, 'invalid_param', 'limit: Input should be less than or equal to 100');
    }
    const user = query.user ?? '';
    const mine = app.conversations.filter((c) => c.user === user);

    if (path === '/conversations') {
      const sortBy = query.sort_by ?? '-updated_at';
      if (!SORTS.has(sortBy)) return fail(400, 'invalid_param', 'sort_by: invalid value');
      const field = sortBy.replace(/^-/, '') as 'created_at' | 'updated_at';
      const desc = sortBy.startsWith('-');
      let rows = [...mine].sort((a, b) => (desc ? b[field] - a[field] : a[field] - b[field]));
      if (query.last_id) {
        const last = mine.find((c) => c.id === query.last_id);
        if (!last) return fail(404, 'not_found', 'Last Conversation Not Exists.');
        rows = rows.filter((c) => (desc ? c[field] < last[field] : c[field] > last[field]));
      }
      const page = rows.slice(0, limit);
      const tail = page.at(-1);
      const hasMore = page.length === limit && tail !== undefined && rows.some((c) => (desc ? c[field] < tail[field] : c[field] > tail[field]));
      return send(200, {
        limit,
        has_more: hasMore,
        data: page.map((c) => ({
          id: c.id,
          name: c.name,
          inputs: {},
          status: 'normal',
          introduction: '',
          created_at: c.created_at,
          updated_at: c.updated_at,
        })),
      });
    }

    const conversation = mine.find((c) => c.id === query.conversation_id);
    if (!conversation) return fail(404, 'not_found', 'Conversation Not Exists.');
    let older = [...conversation.messages].sort((a, b) => b.created_at - a.created_at);
    if (query.first_id) {
      const first = conversation.messages.find((m) => m.id === query.first_id);
      if (!first) return fail(404, 'not_found', 'First Message Not Exists.');
      older = older.filter((m) => m.created_at < first.created_at && m.id !== first.id);
    }
    const fetched = older.slice(0, limit + 1);
    const hasMore = fetched.length > limit;
    const page = fetched.slice(0, limit).reverse();
    return send(200, {
      limit,
      has_more: hasMore,
      data: page.map((m, i) => ({
        id: m.id,
        conversation_id: m.conversation_id,
        parent_message_id: i > 0 ? page[i - 1]!.id : null,
        inputs: {},
        query: m.query,
        answer: m.answer,
        message_files: [],
        feedback: null,
        retriever_resources: [],
        agent_thoughts: [],
        status: 'normal',
        error: null,
        created_at: m.created_at,
      })),
    });
  }
}

const EN: TurnText[] = [
  { query: 'I just moved to Lisbon for a new job at a fintech startup.', answer: 'Congratulations! How are you finding Lisbon so far?' },
  { query: 'I love it, but I am still looking for a flat near Alfama.', answer: 'Alfama is lovely. Do you have a budget in mind?' },
  { query: 'Around 1200 euros a month. I am vegetarian, any restaurant tips nearby?', answer: 'Try Ao 26 Vegan Food Project near the Baixa.' },
  { query: 'Remind me that I prefer answers as short bullet lists.', answer: 'Noted, I will keep answers short and in bullet lists.' },
];

const ZH: TurnText[] = [
  { query: '我下个月要去成都出差，住在春熙路附近。', answer: '好的，成都春熙路一带交通很方便。需要我推荐餐厅吗？' },
  { query: '我不吃辣，有什么清淡的川菜推荐吗？', answer: '可以试试开水白菜、清蒸江团和鸡豆花，都不辣。' },
  { query: '我女儿今年八岁，喜欢熊猫，周末想带她去看熊猫基地。', answer: '成都大熊猫繁育研究基地很适合，建议早上八点前到。' },
  { query: '以后回答我请用中文，并且先给结论再给理由。', answer: '明白了，我以后会先给结论，再说明理由。' },
];

/** `count` realistic English or Chinese exchanges (cycled, numbered so texts differ). */
export function sampleTurns(language: 'en' | 'zh', count: number): TurnText[] {
  const base = language === 'en' ? EN : ZH;
  return Array.from({ length: count }, (_, i) => {
    const t = base[i % base.length]!;
    return i < base.length ? t : { query: `${t.query} (${i})`, answer: `${t.answer} (${i})` };
  });
}
