import { describe, expect, it } from 'vitest';
import { ClientCache } from '../../src/memory/client-cache.js';

class Client {
  closed = false;
  constructor(readonly key: string) {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('ClientCache', () => {
  it('one client per credential-set key, built once', async () => {
    let builds = 0;
    const cache = new ClientCache<{ hash: string }, Client>(async (s) => (builds++, new Client(s.hash)), (s) => s.hash);
    const [a, b] = await Promise.all([cache.use({ hash: 'h1' }, async (c) => c), cache.use({ hash: 'h1' }, async (c) => c)]);
    expect(a).toBe(b);
    expect(builds).toBe(1);
  });

  it('a replaced client is closed only after its in-flight call finishes', async () => {
    const cache = new ClientCache<string, Client>(async (k) => new Client(k), (k) => k, { capacity: 1 });
    const gate = deferred();
    let old: Client | undefined;
    const running = cache.use('old', async (c) => {
      old = c;
      await gate.promise;
      return c.closed;
    });
    await tick();
    const fresh = await cache.use('new', async (c) => c);
    await tick();
    expect(old!.closed).toBe(false);
    gate.resolve();
    expect(await running).toBe(false);
    await tick();
    expect(old!.closed).toBe(true);
    expect(fresh.closed).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('an idle replaced client is closed at once; capacity keeps the most recently used', async () => {
    const made: Client[] = [];
    const cache = new ClientCache<string, Client>(async (k) => {
      const c = new Client(k);
      made.push(c);
      return c;
    }, (k) => k, { capacity: 2 });
    await cache.use('a', async () => {});
    await cache.use('b', async () => {});
    await cache.use('a', async () => {});
    await cache.use('c', async () => {});
    await tick();
    expect(made.map((c) => [c.key, c.closed])).toEqual([['a', false], ['b', true], ['c', false]]);
  });

  it('a client that failed to build is forgotten and rebuilt on the next call', async () => {
    let attempt = 0;
    const cache = new ClientCache<string, Client>(async (k) => {
      attempt += 1;
      if (attempt === 1) throw new Error('database unreachable');
      return new Client(k);
    }, (k) => k);
    await expect(cache.use('k', async (c) => c)).rejects.toThrow('database unreachable');
    await tick();
    expect((await cache.use('k', async (c) => c)).key).toBe('k');
    expect(attempt).toBe(2);
  });

  it('close() waits for running calls, then closes everything', async () => {
    const cache = new ClientCache<string, Client>(async (k) => new Client(k), (k) => k);
    const gate = deferred();
    let client: Client | undefined;
    const running = cache.use('k', async (c) => {
      client = c;
      await gate.promise;
    });
    await tick();
    const closing = cache.close();
    await tick();
    expect(client!.closed).toBe(false);
    gate.resolve();
    await running;
    await closing;
    expect(client!.closed).toBe(true);
  });

  it('an evicted client with background work closes only after it has drained', async () => {
    const background = deferred();
    class Busy extends Client {
      drain(): Promise<void> {
        return background.promise;
      }
    }
    const cache = new ClientCache<string, Client>(async (k) => (k === 'old' ? new Busy(k) : new Client(k)), (k) => k, { capacity: 1 });
    const old = await cache.use('old', async (c) => c);
    await cache.use('new', async () => {});
    await tick();
    expect(old.closed).toBe(false);
    background.resolve();
    await tick();
    expect(old.closed).toBe(true);
  });

  it('close() does not wait for an evicted client to drain', async () => {
    class Endless extends Client {
      drain(): Promise<void> {
        return new Promise(() => {});
      }
    }
    const cache = new ClientCache<string, Client>(async (k) => (k === 'old' ? new Endless(k) : new Client(k)), (k) => k, { capacity: 1 });
    const old = await cache.use('old', async (c) => c);
    const fresh = await cache.use('new', async (c) => c);
    await tick();
    expect(old.closed).toBe(false);
    await cache.close();
    expect([old.closed, fresh.closed]).toEqual([true, true]);
  });

  it('openWithin: a client still being built fails the call in time; the build goes on and serves the next call', async () => {
    let builds = 0;
    const cache = new ClientCache<string, Client>(async (k) => {
      builds += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return new Client(k);
    }, (k) => k);
    const deadline = { ms: 20, error: () => new Error('not open in time') };
    await expect(cache.use('k', async (c) => c, deadline)).rejects.toThrow('not open in time');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await cache.use('k', async (c) => c, deadline)).key).toBe('k');
    expect(builds).toBe(1);
  });
});
