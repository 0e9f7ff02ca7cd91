// export_memories and import_memories end to end through createPluginApp on real stores: embedded PGlite, and
// PostgreSQL when TEST_DATABASE_URL is set. The export arrives as Dify blob chunks; the import reads it back from a
// real HTTP server on loopback, the way a Dify file parameter (a signed URL) reaches the plugin.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolMessage } from '../../src/runtime/contract.js';
import { MAX_FETCH } from '../../src/memory/external/repository.js';
import { openExternalStore } from '../../src/memory/external/stores.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { CHROMA_MISSING, CHROMA_PROGRAM, ChromaServer } from '../helpers/chroma.js';
import { AppDriver, credentials, DIMS, pgliteFolder, pgliteFolderBackend, plainModel, postgresBackend } from './app.js';
import type { Backend } from './app.js';

interface Line {
  id: string;
  text: string;
  hash: string;
  metadata: Record<string, unknown>;
  scope: { user_id: string; agent_id: string | null; run_id: string | null };
  created_at: string;
  updated_at: string;
  history?: Array<{ event: string; old_memory: string | null; new_memory: string | null }>;
}
interface Report { inserted: number; skipped: number; failed: number; failures: Array<{ line: number; reason: string }> }

/** Files served on loopback by path; each request is counted. */
class FileServer {
  readonly files = new Map<string, string | Buffer>();
  private constructor(private readonly server: Server, readonly base: string) {}
  static async start(): Promise<FileServer> {
    const holder: { fs?: FileServer } = {};
    const server = createServer((req, res) => {
      const body = holder.fs!.files.get(req.url ?? '');
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.fs = new FileServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return holder.fs;
  }
  /** A Dify file parameter for a served file. */
  difyFile(name: string, body: string | Buffer): Record<string, unknown> {
    this.files.set(`/files/${name}`, body);
    return { dify_model_identity: '__dify__file__', url: `${this.base}/files/${name}`, filename: name, mime_type: 'application/x-ndjson', size: body.length };
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Reassembles the blob chunks of one file, checking them against Dify's rules on the way. */
function fileOf(raw: ToolMessage[]): { bytes: Buffer; meta: { mime_type: string; filename: string } } {
  const chunks = raw.filter((m) => m.type === 'blob_chunk');
  expect(chunks.length).toBeGreaterThan(0);
  const parts: Buffer[] = [];
  chunks.forEach((chunk, index) => {
    expect(chunk.message.sequence).toBe(index);
    expect(chunk.message.id).toBe(chunks[0]!.message.id);
    const data = Buffer.from(chunk.message.blob, 'base64');
    expect(data.length).toBeLessThanOrEqual(8192);
    expect(chunk.message.end).toBe(index === chunks.length - 1);
    parts.push(data);
  });
  const bytes = Buffer.concat(parts);
  expect(chunks[0]!.message.total_length).toBe(bytes.length);
  // The file comes before the answer.
  expect(raw.findIndex((m) => m.type === 'json')).toBeGreaterThan(raw.lastIndexOf(chunks[chunks.length - 1]!));
  return { bytes, meta: chunks[0]!.meta };
}

function linesOf(bytes: Buffer): Line[] {
  return bytes.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line);
}

async function exportAll(driver: AppDriver, params: Record<string, unknown>): Promise<{ lines: Line[]; bytes: Buffer; results: Record<string, unknown> }> {
  const answer = await driver.call('export_memories', params);
  expect(answer.status, answer.messages).toBe('SUCCESS');
  const { bytes, meta } = fileOf(answer.raw);
  expect(meta.mime_type).toBe('application/x-ndjson');
  expect(meta.filename).toMatch(/\.jsonl$/);
  return { lines: linesOf(bytes), bytes, results: answer.results as Record<string, unknown> };
}

const url = testDatabaseUrl();

describe('export_memories → import_memories', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let files: FileServer;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    files = await FileServer.start();
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await files.close();
  });

  async function driverOn(backend: Pick<Backend, 'store' | 'cleanup'>): Promise<AppDriver> {
    const driver = new AppDriver(credentials(fake, await backend.store(), { async_mode: false }));
    cleanups.push(() => driver.close(), () => backend.cleanup());
    // Opening a store (and migrating it) counts against the first call's timeout: give it room on a busy machine.
    await driver.ok('get_all_memories', { user_id: 'nobody', timeout: 60 });
    return driver;
  }

  it(`round-trips exactly pglite → ${url ? 'postgres' : 'pglite'} → pglite, with history, and a re-import skips everything`, async () => {
    const source = await driverOn(pgliteFolderBackend());
    await source.ok('add_memory', { user: 'I live in Lisbon. I drink green tea.', user_id: 'ana', agent_id: 'app-1', metadata: '{"topic":"intro"}' });
    await source.ok('add_memory', { user: 'My sister is called Eva.', user_id: 'ana', agent_id: 'app-2' });
    await source.ok('add_memory', { user: 'I play chess.', user_id: 'bob' });
    const listed = await source.ok<Array<{ id: string; memory: string }>>('get_all_memories', { user_id: 'ana' });
    const tea = listed.find((m) => m.memory === 'I drink green tea.')!;
    await source.ok('update_memory', { memory_id: tea.id, text: 'I drink black tea.' });

    const exported = await exportAll(source, { user_id: 'ana', include_history: true });
    expect(exported.results).toMatchObject({ exported_count: 3, truncated: false, next_offset: null });
    expect(exported.lines.map((l) => l.text).sort()).toEqual(['I drink black tea.', 'I live in Lisbon.', 'My sister is called Eva.']);
    const teaLine = exported.lines.find((l) => l.id === tea.id)!;
    expect(teaLine).toMatchObject({ metadata: { topic: 'intro' }, scope: { user_id: 'ana', agent_id: 'app-1', run_id: null } });
    expect(teaLine.history?.map((h) => [h.event, h.old_memory, h.new_memory])).toEqual([
      ['ADD', null, 'I drink green tea.'],
      ['UPDATE', 'I drink green tea.', 'I drink black tea.'],
    ]);
    // Only app-2's memory with app_id, and bob's are never in ana's file.
    expect((await exportAll(source, { user_id: 'ana', app_id: 'app-2' })).lines.map((l) => l.text)).toEqual(['My sister is called Eva.']);

    const middle = await driverOn(url ? postgresBackend(url) : pgliteFolderBackend());
    const embedsBefore = fake.calls('/v1/embeddings').length;
    const first = await middle.call('import_memories', { file: files.difyFile('ana.jsonl', exported.bytes) });
    expect(first.status, first.messages).toBe('SUCCESS');
    expect(first.results).toEqual({ inserted: 3, skipped: 0, failed: 0, failures: [] });
    expect(fake.calls('/v1/embeddings').length).toBeGreaterThan(embedsBefore);
    const again = await middle.call('import_memories', { file: files.difyFile('ana.jsonl', exported.bytes) });
    expect(again.results).toEqual({ inserted: 0, skipped: 3, failed: 0, failures: [] });

    const second = await exportAll(middle, { user_id: 'ana', include_history: true });
    expect(second.bytes.toString('utf8')).toBe(exported.bytes.toString('utf8'));
    // Embeddings were recomputed: search finds the imported memory.
    const hits = await middle.ok<Array<{ id: string }>>('search_memory', { user_id: 'ana', query: 'black tea' });
    expect(hits[0]?.id).toBe(tea.id);

    const back = await driverOn(pgliteFolderBackend());
    files.files.set('/operator/ana.jsonl', second.bytes);
    const third = await back.call('import_memories', { url: `${files.base}/operator/ana.jsonl` });
    expect(third.results).toMatchObject({ inserted: 3, skipped: 0, failed: 0 });
    expect((await exportAll(back, { user_id: 'ana', include_history: true })).bytes.toString('utf8')).toBe(exported.bytes.toString('utf8'));
  }, 120_000);

  it.skipIf(!CHROMA_PROGRAM)(
    `round-trips exactly pglite → Chroma → ${url ? 'postgres' : 'pglite'} → Chroma, with history, ` +
      `and a re-import into Chroma skips everything${CHROMA_PROGRAM ? '' : ` (skipped: ${CHROMA_MISSING})`}`,
    async () => {
      const chroma = await ChromaServer.start();
      cleanups.push(() => chroma.stop());
      const chromaStore = (collection: string) => ({
        store: () =>
          Promise.resolve({
            provider: 'chroma',
            config: { collection_name: collection, host: '127.0.0.1', port: chroma.port, ssl: false, embedding_model_dims: DIMS },
            state_store: { provider: 'pglite', config: { path: pgliteFolder() } },
          }),
        cleanup: () => Promise.resolve(),
      });

      const source = await driverOn(pgliteFolderBackend());
      await source.ok('add_memory', { user: 'I live in Porto. I drink green tea.', user_id: 'ana', agent_id: 'app-1', metadata: '{"topic":"intro","n":2,"ok":true}' });
      await source.ok('add_memory', { user: 'My brother is called Rui.', user_id: 'ana', agent_id: 'app-2' });
      await source.ok('add_memory', { user: 'I play chess.', user_id: 'bob' });
      const tea = (await source.ok<Array<{ id: string; memory: string }>>('get_all_memories', { user_id: 'ana' })).find((m) => m.memory === 'I drink green tea.')!;
      await source.ok('update_memory', { memory_id: tea.id, text: 'I drink black tea.' });
      const exported = await exportAll(source, { user_id: 'ana', include_history: true });
      expect(exported.lines).toHaveLength(3);

      // Into Chroma: every line inserted under its id, embedded anew; the same file again changes nothing.
      const inChroma = await driverOn(chromaStore('transfer_a'));
      const first = await inChroma.call('import_memories', { file: files.difyFile('to-chroma.jsonl', exported.bytes) });
      expect(first.status, first.messages).toBe('SUCCESS');
      expect(first.results).toEqual({ inserted: 3, skipped: 0, failed: 0, failures: [] });
      expect((await inChroma.call('import_memories', { file: files.difyFile('to-chroma.jsonl', exported.bytes) })).results).toEqual({
        inserted: 0, skipped: 3, failed: 0, failures: [],
      });
      // Out of Chroma: the same bytes, history and metadata (numbers, booleans) included.
      const fromChroma = await exportAll(inChroma, { user_id: 'ana', include_history: true });
      expect(fromChroma.bytes.toString('utf8')).toBe(exported.bytes.toString('utf8'));
      expect(fromChroma.results).toMatchObject({ exported_count: 3, truncated: false, next_offset: null });
      // app_id, filters and offset choose the same lines as on the SQL store.
      for (const params of [{ app_id: 'app-2' }, { filters: '{"topic": "intro"}' }, { offset: 1 }]) {
        const sql = await exportAll(source, { user_id: 'ana', include_history: true, ...params });
        const ext = await exportAll(inChroma, { user_id: 'ana', include_history: true, ...params });
        expect(ext.bytes.toString('utf8'), JSON.stringify(params)).toBe(sql.bytes.toString('utf8'));
        expect(ext.lines.length).toBeGreaterThan(0);
      }
      const hits = await inChroma.ok<Array<{ id: string }>>('search_memory', { user_id: 'ana', query: 'black tea' });
      expect(hits[0]?.id).toBe(tea.id);
      expect(await inChroma.ok<unknown[]>('get_all_memories', { user_id: 'bob' })).toEqual([]);
      const history = await inChroma.ok<Array<{ event: string }>>('get_memory_history', { memory_id: tea.id });
      expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE']);

      // A memory written in Chroma itself travels the other way: Chroma → SQL → another Chroma collection.
      const [rex] = await inChroma.ok<Array<{ id: string }>>('add_memory', { user: 'My dog is called Rex.', user_id: 'ana', metadata: '{"pet":"dog"}' });
      await inChroma.ok('update_memory', { memory_id: rex!.id, text: 'My dog is called Max.' });
      const chromaFile = await exportAll(inChroma, { user_id: 'ana', include_history: true });
      expect(chromaFile.lines).toHaveLength(4);
      const sql = await driverOn(url ? postgresBackend(url) : pgliteFolderBackend());
      expect((await sql.call('import_memories', { file: files.difyFile('from-chroma.jsonl', chromaFile.bytes) })).results).toMatchObject({ inserted: 4, failed: 0 });
      const viaSql = await exportAll(sql, { user_id: 'ana', include_history: true });
      expect(viaSql.bytes.toString('utf8')).toBe(chromaFile.bytes.toString('utf8'));
      const again = await driverOn(chromaStore('transfer_b'));
      expect((await again.call('import_memories', { file: files.difyFile('back.jsonl', viaSql.bytes) })).results).toMatchObject({ inserted: 4, failed: 0 });
      expect((await exportAll(again, { user_id: 'ana', include_history: true })).bytes.toString('utf8')).toBe(chromaFile.bytes.toString('utf8'));

      // Chroma keeps only flat metadata: a line it refuses is reported by number, and the lines around it still go in.
      const mixed = [
        JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2b01', text: 'Flies kites', scope: { user_id: 'cy' } }),
        JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2b02', text: 'Nested', metadata: { place: { city: 'Porto' } }, scope: { user_id: 'cy' } }),
        JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2b03', text: 'Reads comics', scope: { user_id: 'cy' } }),
      ].join('\n');
      const partly = await again.call('import_memories', { file: files.difyFile('mixed.jsonl', mixed) });
      expect(partly.status, partly.messages).toBe('SUCCESS');
      const report = partly.results as Report;
      expect(report).toMatchObject({ inserted: 2, skipped: 0, failed: 1 });
      expect(report.failures).toEqual([{ line: 2, reason: expect.stringContaining("metadata value for key 'place'") as string }]);
      expect((await again.ok<Array<{ memory: string }>>('get_all_memories', { user_id: 'cy' })).map((m) => m.memory).sort()).toEqual(['Flies kites', 'Reads comics']);

      // A store lists at most MAX_FETCH memories of a user at once: more is refused, never exported in part.
      const many = await openExternalStore({ provider: 'chroma', config: { collection_name: 'transfer_many', host: '127.0.0.1', port: chroma.port, ssl: false, embedding_model_dims: DIMS } });
      for (let start = 0; start < MAX_FETCH; start += 2000) {
        const ids = Array.from({ length: 2000 }, (_, i) => `0b6f7c58-0a8c-4b8e-9a55-${String(start + i).padStart(12, '0')}`);
        await many.store.insert(ids.map((_, i) => Array.from({ length: DIMS }, (_v, d) => Math.sin(start + i + d))), ids, ids.map((_, i) => ({ data: `fact ${start + i}`, user_id: 'many', created_at: '2025-01-01T00:00:00+00:00' })));
      }
      await many.close();
      const manyDriver = await driverOn(chromaStore('transfer_many'));
      // With a filter too: the few that match may sit beyond what the store lists.
      for (const params of [{}, { filters: '{"topic": "kites"}' }]) {
        const tooMany = await manyDriver.call('export_memories', { user_id: 'many', ...params });
        expect(tooMany.status, JSON.stringify(params)).toBe('ERROR');
        expect(tooMany.messages).toContain(`${MAX_FETCH} or more memories in the chroma collection "transfer_many"`);
      }
      // delete_all (and its dry run) would meet the same wall: refused whole, nothing deleted, never a partial SUCCESS.
      for (const params of [{ dry_run: true }, {}, { filters: '{"topic": "kites"}' }]) {
        const refused = await manyDriver.call('delete_all_memories', { user_id: 'many', ...params });
        expect(refused.status, JSON.stringify(params)).toBe('ERROR');
        expect(refused.messages).toContain(`${MAX_FETCH} or more memories in the chroma collection "transfer_many"`);
      }
      const kept = await openExternalStore({ provider: 'chroma', config: { collection_name: 'transfer_many', host: '127.0.0.1', port: chroma.port, ssl: false, embedding_model_dims: DIMS } });
      expect((await kept.store.list({ user_id: 'many' }, MAX_FETCH + 10))[0]).toHaveLength(MAX_FETCH);
      await kept.close();
    },
    240_000,
  );

  it("reads Mem0's own get_all JSON (pretty-printed), keeps ids, times and metadata, and reports bad lines by number", async () => {
    const driver = await driverOn(pgliteFolderBackend());
    const mem0 = {
      results: [
        { id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2a01', memory: 'Likes hiking in the Alps', hash: 'x', metadata: { source: 'mem0' }, created_at: '2024-05-01T10:00:00.000000-07:00', updated_at: null, user_id: 'carl' },
        { id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2a02', memory: 'Allergic to peanuts', metadata: null, created_at: '2024-05-02T08:30:00+00:00', user_id: 'carl', agent_id: 'app-9' },
      ],
    };
    const answer = await driver.call('import_memories', { file: files.difyFile('mem0.json', JSON.stringify(mem0, null, 2)) });
    expect(answer.results).toEqual({ inserted: 2, skipped: 0, failed: 0, failures: [] });
    const one = await driver.ok<{ id: string; memory: string; metadata: Record<string, unknown>; created_at: string }>('get_memory', { memory_id: mem0.results[0]!.id });
    expect(one).toMatchObject({ memory: 'Likes hiking in the Alps', metadata: { source: 'mem0' } });
    expect(new Date(one.created_at).toISOString()).toBe('2024-05-01T17:00:00.000Z');

    const mixed = [
      JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2a03', text: 'Speaks Portuguese', scope: { user_id: 'carl' } }),
      '{not json',
      JSON.stringify({ id: 'not-a-uuid', text: 'x', scope: { user_id: 'carl' } }),
      JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2a04', text: 'No owner' }),
      JSON.stringify({ id: '0b6f7c58-0a8c-4b8e-9a55-3d3c1f0e2a01', text: 'Likes hiking in the Alps', scope: { user_id: 'carl' } }),
    ].join('\n');
    const report = (await driver.call('import_memories', { file: files.difyFile('mixed.jsonl', mixed) })).results as Report;
    expect(report).toEqual({
      inserted: 1,
      skipped: 1,
      failed: 3,
      failures: [
        { line: 2, reason: 'not valid JSON' },
        { line: 3, reason: '"id" must be a UUID' },
        { line: 4, reason: 'no "user_id" in the line and no user_id parameter' },
      ],
    });
    // The user_id parameter owns lines that name nobody.
    const owned = (await driver.call('import_memories', { file: files.difyFile('mixed.jsonl', mixed), user_id: 'dora' })).results as Report;
    expect(owned).toMatchObject({ inserted: 1, skipped: 2, failed: 2 });
    expect((await driver.ok<Array<{ memory: string }>>('get_all_memories', { user_id: 'dora' })).map((m) => m.memory)).toEqual(['No owner']);
  }, 120_000);

  it('refuses URLs that are not http(s), files over the size limit, and calls without a source, naming the parameter', async () => {
    const driver = await driverOn(pgliteFolderBackend());
    const fileUrl = await driver.call('import_memories', { url: 'file:///etc/passwd' });
    expect(fileUrl.status).toBe('ERROR');
    expect(fileUrl.messages).toContain('url must be an http or https URL, not file');
    const ftp = await driver.call('import_memories', { file: { dify_model_identity: '__dify__file__', url: 'ftp://example.org/a.jsonl' } });
    expect(ftp.messages).toContain('file must be an http or https URL, not ftp');
    const none = await driver.call('import_memories', {});
    expect(none.status).toBe('ERROR');
    expect(none.messages).toContain('give the file to import (file) or its address (url)');
    const missing = await driver.call('import_memories', { url: `${files.base}/nothing-here` });
    expect(missing.status).toBe('ERROR');
    expect(missing.messages).toContain('HTTP 404');

    process.env.MEM0_IMPORT_MAX_BYTES = '1000';
    try {
      const big = await driver.call('import_memories', { file: files.difyFile('big.jsonl', 'x'.repeat(5000)) });
      expect(big.status).toBe('ERROR');
      expect(big.messages).toContain('than the limit of 1000');
    } finally {
      delete process.env.MEM0_IMPORT_MAX_BYTES;
    }
    expect(await driver.ok<unknown[]>('get_all_memories', { user_id: 'carl' })).toEqual([]);
  }, 60_000);
});
