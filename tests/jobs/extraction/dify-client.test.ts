import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DifyAuthError,
  DifyClient,
  DifyConfigError,
  DifyNotFoundError,
  DifyUpstreamError,
  normalizeDifyBaseUrl,
  parseRetryAfter,
} from '../../../src/jobs/extraction/dify-client.js';
import { sampleTurns } from '../../helpers/fake-dify.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';
import { eventually } from '../../helpers/fake-providers.js';

const KEY = 'app-SECRETkey0123456789abcdef';
const APP = 'app-1';
const dify = useFakeDify();

/** A pino logger at debug level writing into an array, to prove what the client logs. */
function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** The delays the client logged before its retries, in order. */
function retriedDelays(logger: ReturnType<typeof captureLogger>['logger'], lines: string[]): number[] {
  logger.flush();
  return lines.map((l) => JSON.parse(l) as { msg: string; delayMs?: number }).filter((l) => l.msg === 'dify call retried').map((l) => l.delayMs ?? -1);
}

function client(overrides: Partial<ConstructorParameters<typeof DifyClient>[0]> = {}) {
  return new DifyClient({ baseUrl: dify.baseUrl, apiKey: KEY, backoffBaseMs: 5, backoffMaxMs: 50, timeoutMs: 2000, ...overrides });
}

beforeAll(() => {
  dify.addApp(APP, KEY);
  dify.addConversation(APP, 'alice', { start: 1_700_000_000, turns: sampleTurns('en', 3) });
});
afterEach(() => dify.resetCalls());

describe('normalizeDifyBaseUrl', () => {
  it('accepts http(s) URLs ending in /v1, with or without a trailing slash', () => {
    expect(normalizeDifyBaseUrl('https://api.dify.ai/v1')).toBe('https://api.dify.ai/v1');
    expect(normalizeDifyBaseUrl(' http://10.0.0.5:5001/v1/ ')).toBe('http://10.0.0.5:5001/v1');
    expect(normalizeDifyBaseUrl('https://example.com/dify/v1')).toBe('https://example.com/dify/v1');
  });

  it.each([
    ['https://api.dify.ai', /end with \/v1/],
    ['https://api.dify.ai/v1/chat-messages', /end with \/v1/],
    ['ftp://api.dify.ai/v1', /http/],
    ['https://user:pw@api.dify.ai/v1', /user name or password/],
    ['https://api.dify.ai/v1?x=1', /query/],
    ['not a url', /not a valid URL/],
  ])('refuses %s', (url, message) => {
    expect(() => normalizeDifyBaseUrl(url)).toThrow(DifyConfigError);
    expect(() => normalizeDifyBaseUrl(url)).toThrow(message);
  });

  it('refuses an empty key before any request', () => {
    expect(() => new DifyClient({ baseUrl: 'https://x/v1', apiKey: '  ' })).toThrow(DifyConfigError);
  });
});

describe('DifyClient', () => {
  it('sends the key as a Bearer token and the documented query, and parses the page', async () => {
    const c = client();
    const page = await c.listConversations({ user: 'alice', limit: 500 });
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({ created_at: 1_700_000_000, updated_at: 1_700_000_120 });
    expect(dify.calls[0]).toMatchObject({ path: '/conversations', key: KEY, query: { user: 'alice', limit: '100', sort_by: '-updated_at' } });
    const messages = await c.listMessages({ user: 'alice', conversationId: page.data[0]!.id });
    expect(messages.data.map((m) => m.query)).toEqual(sampleTurns('en', 3).map((t) => t.query));
    expect(c.stats()).toEqual({ requests: 2, retries: 0, conversationPages: 1, messagePages: 1 });
  });

  it('retries 500s and connection resets, then succeeds', async () => {
    dify.inject({ kind: 'status', status: 500 }, { kind: 'reset' }, { kind: 'status', status: 503 });
    const c = client();
    const page = await c.listConversations({ user: 'alice' });
    expect(page.data).toHaveLength(1);
    expect(c.stats()).toMatchObject({ requests: 4, retries: 3 });
  });

  it('gives up after the configured retries with the last status', async () => {
    dify.inject(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 502 })));
    const c = client({ retries: 2 });
    const error = await c.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyUpstreamError);
    expect(error).toMatchObject({ status: 502, reason: 'status', difyCode: 'internal_server_error' });
    expect(c.stats().requests).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    dify.inject({ kind: 'status', status: 429, retryAfter: '1' });
    const { logger, lines } = captureLogger();
    const c = client({ backoffMaxMs: 5000, logger });
    const started = Date.now();
    await c.listConversations({ user: 'alice' });
    // The wait really happened: a lower bound, which load can only make truer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(retriedDelays(logger, lines)).toEqual([1000]);
  });

  it('caps a huge Retry-After at backoffMaxMs', async () => {
    dify.inject({ kind: 'status', status: 429, retryAfter: '3600' });
    const { logger, lines } = captureLogger();
    const c = client({ backoffMaxMs: 50, logger });
    await c.listConversations({ user: 'alice' });
    expect(retriedDelays(logger, lines)).toEqual([50]);
  });

  it('times out a call that never answers and retries it', async () => {
    dify.inject({ kind: 'hang' });
    const c = client({ timeoutMs: 150 });
    const page = await c.listConversations({ user: 'alice' });
    expect(page.data).toHaveLength(1);
    expect(c.stats()).toMatchObject({ requests: 2, retries: 1 });
  });

  it('reports a timeout when every attempt hangs', async () => {
    dify.inject({ kind: 'hang' }, { kind: 'hang' });
    const c = client({ timeoutMs: 100, retries: 1 });
    const error = await c.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyUpstreamError);
    expect(error).toMatchObject({ reason: 'timeout' });
    expect((error as Error).message).toMatch(/did not answer within 100 ms/);
  });

  it('fails at once on 401 with a clear message that never contains the key', async () => {
    const { logger, lines } = captureLogger();
    const c = client({ apiKey: 'app-WRONGkey999', logger });
    const error = await c.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyAuthError);
    expect(error).toMatchObject({ status: 401, difyCode: 'unauthorized' });
    expect((error as Error).message).toMatch(/rejected the API key.*Access token is invalid/);
    expect((error as Error).message).not.toContain('WRONGkey');
    expect(c.stats().requests).toBe(1);
    logger.flush();
    expect(lines.join('')).not.toContain('WRONGkey');
  });

  it('maps 404 to DifyNotFoundError with Dify’s message', async () => {
    const c = client();
    const error = await c.listMessages({ user: 'alice', conversationId: '00000000-0000-0000-0000-000000000000' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyNotFoundError);
    expect((error as Error).message).toMatch(/Conversation Not Exists/);
    expect(c.stats().requests).toBe(1);
  });

  it('does not retry other 4xx', async () => {
    // The fake, like Dify, refuses an unknown sort order with 400; reach it through a hand-made URL via fetch.
    const response = await fetch(`${dify.baseUrl}/conversations?user=alice&sort_by=name`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(400);
    const seen: string[] = [];
    const bad = client({
      fetch: async (input) => {
        seen.push(String(input));
        return new Response(JSON.stringify({ code: 'invalid_param', message: 'bad', status: 400 }), { status: 400 });
      },
    });
    await expect(bad.listConversations({ user: 'alice' })).rejects.toMatchObject({ status: 400, reason: 'status' });
    expect(seen).toHaveLength(1);
  });

  it('scrubs the key from network errors and error bodies that echo it, and from debug logs', async () => {
    const { logger, lines } = captureLogger();
    let n = 0;
    const c = client({
      logger,
      retries: 1,
      fetch: async () => {
        n += 1;
        if (n === 1) throw new TypeError(`fetch failed: proxy refused Authorization: Bearer ${KEY}`);
        return new Response(JSON.stringify({ code: 'forbidden', message: `token ${KEY} is disabled`, status: 403 }), { status: 403 });
      },
    });
    const error = await c.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyAuthError);
    expect((error as Error).message).toContain('[secret]');
    expect((error as Error).message).not.toContain(KEY);
    const only = client({ retries: 0, fetch: async () => Promise.reject(new TypeError(`boom ${KEY}`)) });
    const network = await only.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(network).toMatchObject({ reason: 'network' });
    expect((network as Error).message).not.toContain(KEY);
    logger.flush();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(KEY);
  });

  it('reports a body of the wrong shape as bad_response without retrying', async () => {
    let n = 0;
    const c = client({
      fetch: async () => {
        n += 1;
        return new Response(JSON.stringify({ data: [{ id: 'x', created_at: '2024-01-01' }] }), { status: 200 });
      },
    });
    const error = await c.listConversations({ user: 'alice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'bad_response' });
    expect(n).toBe(1);
  });

  it('stops waiting between retries when the caller aborts', async () => {
    dify.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    // A backoff of at least a minute: a client that slept it out would outlive this test's timeout.
    const { logger, lines } = captureLogger();
    const c = client({ backoffBaseMs: 120_000, backoffMaxMs: 120_000, logger });
    const controller = new AbortController();
    const listing = c.listConversations({ user: 'alice' }, controller.signal);
    // Abort once the client has begun its wait before the second attempt.
    await eventually(() => retriedDelays(logger, lines).length === 1, 20_000, 10);
    expect(retriedDelays(logger, lines)[0]).toBeGreaterThanOrEqual(60_000);
    controller.abort(new Error('task cancelled'));
    await expect(listing).rejects.toThrow('task cancelled');
    expect(c.stats().requests).toBe(1);
    dify.resetCalls();
    await client().listConversations({ user: 'alice' }); // use up the second injected 500
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});
