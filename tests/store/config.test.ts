import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultStoreConfig, parseStoreConfig } from '../../src/store/index.js';

describe('parseStoreConfig', () => {
  it('reads Mem0’s pgvector keys with Mem0’s defaults', () => {
    const c = parseStoreConfig({ provider: 'pgvector', config: { user: 'u', password: 'p', host: 'db', port: 5433 } });
    expect(c).toMatchObject({
      kind: 'postgres', collectionName: 'mem0', dims: 1536, hnsw: true, schemaName: 'public',
      minConnections: 1, maxConnections: 5,
      connection: { host: 'db', port: 5433, database: 'postgres', user: 'u', password: 'p', ssl: false },
    });
  });

  it('accepts JSON text in a code fence, connection strings and sslmode', () => {
    const c = parseStoreConfig('```json\n{"provider":"pgvector","config":{"connection_string":"postgresql://u:p@h:5432/d?sslmode=disable","sslmode":"require","collection_name":"memories","embedding_model_dims":768,"hnsw":false,"minconn":2,"maxconn":9}}\n```');
    expect(c).toMatchObject({ kind: 'postgres', collectionName: 'memories', dims: 768, hnsw: false, minConnections: 2, maxConnections: 9 });
    if (c.kind !== 'postgres') throw new Error('unreachable');
    expect(c.connection.connectionString).toBe('postgresql://u:p@h:5432/d');
    expect(c.connection.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('reads libpq key=value connection strings (as psycopg does)', () => {
    const c = parseStoreConfig({
      provider: 'pgvector',
      config: { connection_string: "host=db port=6543 dbname=mem user=me password='a b\\'c' sslmode=verify-full" },
    });
    if (c.kind !== 'postgres') throw new Error('unreachable');
    expect(c.connection).toEqual({ host: 'db', port: 6543, database: 'mem', user: 'me', password: "a b'c", ssl: { rejectUnauthorized: true } });
  });

  it('defaults to embedded PGlite under ./data/pglite', () => {
    const c = defaultStoreConfig({ baseDir: '/srv/plugin' });
    expect(c).toMatchObject({ kind: 'pglite', dataDir: path.resolve('/srv/plugin/data/pglite'), collectionName: 'mem0', dims: 1536 });
    expect(parseStoreConfig({ provider: 'pglite', config: { path: 'memory://' } })).toMatchObject({ dataDir: 'memory://' });
  });

  it.each([
    ['unsafe collection name', { provider: 'pgvector', config: { connection_string: 'postgres://h/d', collection_name: 'mem0; DROP TABLE x' } }, /collection_name must match/],
    ['unknown key', { provider: 'pgvector', config: { connection_string: 'postgres://h/d', colection_name: 'x' } }, /Unrecognized key.*colection_name/],
    ['no address', { provider: 'pgvector', config: { user: 'u', password: 'p' } }, /'host' and 'port' are required/],
    ['no credentials', { provider: 'pgvector', config: { host: 'h', port: 1 } }, /'user' and 'password' are required/],
    ['unknown provider', { provider: 'qdrant', config: {} }, /invalid vector store config: provider/],
    ['bad sslmode', { provider: 'pgvector', config: { connection_string: 'postgres://h/d', sslmode: 'maybe' } }, /sslmode/],
    ['minconn over maxconn', { provider: 'pgvector', config: { connection_string: 'postgres://h/d', minconn: 9, maxconn: 2 } }, /minconn must not exceed maxconn/],
    ['not JSON', '{"provider":', /not valid JSON/],
  ])('rejects %s', (_name, input, message) => {
    expect(() => parseStoreConfig(input)).toThrow(message);
  });

  it('never repeats a password in its errors', () => {
    const secret = 'hunter2-very-secret';
    for (const config of [
      { connection_string: `host=h password=${secret} bogus`, dims: 3 },
      { user: 'u', password: secret, port: 'nope' },
    ]) {
      let message = '';
      try {
        parseStoreConfig({ provider: 'pgvector', config });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret);
    }
  });
});

describe('where the embedded database lives', () => {
  const versioned = '/srv/cwd/mem0-ts/mem0ai-0.3.0@0f1e2d';

  it('keeps it beside the daemon’s versioned working folder, so an upgrade finds it', () => {
    expect(defaultStoreConfig({ baseDir: versioned, env: {} })).toMatchObject({
      dataDir: '/srv/cwd/mem0-ts/mem0ai-data/data/pglite',
      legacy: { path: path.join('data', 'pglite'), cwd: versioned },
    });
    // A relative block path resolves there too; an absolute one is taken as given and never adopts older data.
    expect(parseStoreConfig({ provider: 'pglite', config: { path: 'store' } }, { baseDir: versioned, env: {} })).toMatchObject({
      dataDir: '/srv/cwd/mem0-ts/mem0ai-data/store', legacy: { path: 'store' },
    });
    const absolute = parseStoreConfig({ provider: 'pglite', config: { path: '/var/lib/mem0' } }, { baseDir: versioned, env: {} });
    expect(absolute).toMatchObject({ dataDir: '/var/lib/mem0' });
    expect(absolute).not.toHaveProperty('legacy.path');
  });

  it('takes MEM0_DATA_DIR when the block gives no path, and the working folder outside the daemon', () => {
    expect(defaultStoreConfig({ baseDir: versioned, env: { MEM0_DATA_DIR: '/data/mem0' } })).toMatchObject({ dataDir: '/data/mem0' });
    expect(defaultStoreConfig({ baseDir: '/home/dev/plugin', env: {} })).toMatchObject({ dataDir: '/home/dev/plugin/data/pglite' });
    // Not the daemon's pattern (no @checksum): stays where it was.
    expect(defaultStoreConfig({ baseDir: '/srv/mem0ai-0.3.0', env: {} })).toMatchObject({ dataDir: '/srv/mem0ai-0.3.0/data/pglite' });
  });
});
