/**
 * Export and import at scale (issue 15 §3): N memories (default 100 000, BENCH_TRANSFER_N) in embedded PGlite are
 * exported with export_memories' code (a page at a time into a file; two files when the 30 MiB cap of a Dify file is
 * reached), then imported into a second, empty PGlite from a loopback HTTP server with import_memories' code (a line
 * at a time, batches of 100, embeddings by an in-process hashed-words embedder, so the model costs nothing and the
 * numbers are the plugin's). The resident set size (RSS) is sampled every 50 ms; the peak above the level before each
 * step shows whether memory grows with N.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { importMaxBytes, linesFromUrl } from '../../src/memory/import-source.js';
import type { Embedder } from '../../src/memory/providers.js';
import { exportToFile, importLines } from '../../src/memory/transfer.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { md5, pythonIso } from '../../src/store/payload.js';

const DIMS = 32;
const N = Number(process.env.BENCH_TRANSFER_N ?? 100_000);
const tmp = process.env.BENCH_TMP_DIR ?? '/tmp';

function vectorOf(text: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    const h = parseInt(md5(word).slice(0, 8), 16);
    v[h % DIMS]! += h & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const embedder: Embedder = {
  provider: 'bench-hashed-words',
  dims: DIMS,
  embed: (text) => Promise.resolve(vectorOf(text)),
  embedBatch: (texts) => Promise.resolve(texts.map(vectorOf)),
};

async function open(name: string): Promise<Store> {
  return openStore(parseStoreConfig({ provider: 'pglite', config: { path: path.join(tmp, name), embedding_model_dims: DIMS } }));
}

/** Peak RSS while `work` runs, sampled every 50 ms. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; baseMiB: number; peakMiB: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = performance.now();
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, ms: performance.now() - started, baseMiB: base / 2 ** 20, peakMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

const TOPICS = ['likes green tea', 'lives in Lisbon', 'plays the cello', 'is allergic to peanuts', 'works night shifts', 'prefers window seats'];

async function seed(store: Store): Promise<void> {
  const batch = 1000;
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < N; i += batch) {
    const records = [];
    for (let j = i; j < Math.min(N, i + batch); j++) {
      const data = `Memory ${j}: the user ${TOPICS[j % TOPICS.length]} (note ${j % 97}).`;
      const at = new Date(start + j * 1000);
      const id = `00000000-0000-4000-8000-${j.toString(16).padStart(12, '0')}`;
      records.push({
        id,
        payload: { data, hash: md5(data), user_id: 'bench-user', category: TOPICS[j % TOPICS.length], created_at: pythonIso(at), updated_at: pythonIso(at) },
        vector: vectorOf(data),
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
      });
    }
    await store.memories.importRecords(records);
  }
}

export async function main(): Promise<string> {
  const source = await open('source');
  const target = await open('target');
  const signal = new AbortController().signal;
  try {
    const seeded = await measured(() => seed(source));

    const files: string[] = [];
    const exported = await measured(async () => {
      let offset = 0;
      let count = 0;
      let bytes = 0;
      for (;;) {
        const file = await exportToFile(source, { scope: { userId: 'bench-user' }, includeHistory: false, offset, signal });
        files.push(file.path);
        count += file.count;
        bytes += file.bytes;
        if (!file.truncated) break;
        offset = file.nextOffset ?? 0;
      }
      return { count, bytes };
    });

    const server = createServer((req, res) => {
      const file = files[Number((req.url ?? '/0').slice(1))];
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const imported = await measured(async () => {
      const total = { inserted: 0, skipped: 0, failed: 0 };
      for (let i = 0; i < files.length; i++) {
        const report = await importLines(target, embedder, linesFromUrl(new URL(`${base}/${i}`), { maxBytes: importMaxBytes(), signal }), { signal });
        total.inserted += report.inserted;
        total.skipped += report.skipped;
        total.failed += report.failed;
      }
      return total;
    });
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    server.close();
    for (const f of files) await rm(f, { force: true });

    const mib = (x: number) => x.toFixed(0);
    const row = (step: string, r: { ms: number; baseMiB: number; peakMiB: number }, what: string) =>
      `| ${step} | ${what} | ${(r.ms / 1000).toFixed(1)} s | ${mib(r.baseMiB)} MiB | ${mib(r.peakMiB)} MiB | ${mib(r.peakMiB - r.baseMiB)} MiB |`;
    return [
      '## Export and import at scale (`node bench/transfer/run.mjs`)',
      '',
      `${N.toLocaleString('en-US')} memories of one user in embedded PGlite (${DIMS}-dimension vectors), exported with export_memories' code`,
      `into ${files.length} file(s) (Dify's 30 MiB cap per file; sizes ${sizes.map((s) => `${(s / 2 ** 20).toFixed(1)} MiB`).join(', ')}), then imported`,
      "into an empty PGlite from a loopback HTTP server with import_memories' code (an in-process hashed-words embedder,",
      'so no model time is counted). RSS sampled every 50 ms in this one Node process; "growth" is the peak minus the',
      'RSS before the step. Node ' + process.version + ', 2 shared cores.',
      '',
      '| step | result | time | RSS before | RSS peak | growth |',
      '|---|---|---|---|---|---|',
      row('seed (bench set-up, 1000 per statement)', seeded, `${N} rows`),
      row('export', exported, `${exported.value.count} lines, ${(exported.value.bytes / 2 ** 20).toFixed(1)} MiB`),
      row('import', imported, `${imported.value.inserted} inserted, ${imported.value.skipped} skipped, ${imported.value.failed} failed`),
    ].join('\n');
  } finally {
    await source.close();
    await target.close();
  }
}
