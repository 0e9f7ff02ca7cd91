/**
 * Peak resident memory of the built plugin (dist/plugin.js) under a real workload: credential validation, then
 * adds and searches through the engine on the embedded PGlite database (and on PostgreSQL when TEST_DATABASE_URL is
 * set), against the loopback fake OpenAI. Reads VmHWM (peak RSS) and VmRSS from /proc; the manifest's
 * `resource.memory` is set from the largest peak.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeOpenAI } from '../../tests/helpers/fake-openai.js';
import { credentials, DIMS, plainModel } from '../../tests/integration/app.js';
import { FrameCollector, requestFrame, invokeFrame, isSessionFrame } from '../../tests/helpers/plugin-process.js';
import type { Frame } from '../../tests/helpers/plugin-process.js';

const ADDS = Number(process.env.BENCH_ADDS ?? 200);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 500);

function mib(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

async function measure(root: string, store: Record<string, unknown>, fake: FakeOpenAI) {
  const child = spawn(process.execPath, [path.join(root, 'dist', 'plugin.js')], {
    cwd: mkdtempSync(path.join(os.tmpdir(), 'mem0-rss-cwd-')),
    env: { PATH: process.env.PATH, PLUGIN_ROOT: root, INSTALL_METHOD: 'local', LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const frames = new FrameCollector();
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) frames.push(JSON.parse(line) as Frame);
  });
  const creds = credentials(fake, store);
  let n = 0;
  const call = async (frame: (sid: string) => Frame): Promise<void> => {
    const sid = `s${n++}`;
    child.stdin.write(`${JSON.stringify(frame(sid))}\n`);
    await frames.waitFor((f) => isSessionFrame(f, sid, 'end'), 120_000, `end of ${sid}`);
  };
  await new Promise((r) => setTimeout(r, 1000));
  const idle = mib(child.pid!, 'VmRSS');
  await call((sid) => requestFrame(sid, { type: 'tool', action: 'validate_tool_credentials', provider: 'mem0ai', credentials: creds }));
  const withTool = (tool: string, params: Record<string, unknown>) => (sid: string) => {
    const frame = invokeFrame(sid, tool, params);
    (frame.data as Record<string, unknown>).credentials = creds;
    return frame;
  };
  for (let i = 0; i < ADDS; i++) {
    await call(withTool('add_memory', { user: `I like dish number ${i} and city ${i % 17}.`, user_id: `u${i % 10}` }));
  }
  for (let i = 0; i < SEARCHES; i++) await call(withTool('search_memory', { query: `dish ${i % ADDS}`, user_id: `u${i % 10}` }));
  const peak = mib(child.pid!, 'VmHWM');
  const end = mib(child.pid!, 'VmRSS');
  child.stdin.end();
  await new Promise((r) => child.once('exit', r));
  return { idle, peak, end };
}

export async function main(): Promise<string> {
  const root = process.env.BENCH_REPO_ROOT!;
  const fake = await FakeOpenAI.start({ dims: DIMS });
  plainModel(fake);
  const rows: string[] = [];
  const folder = mkdtempSync(path.join(os.tmpdir(), 'mem0-rss-pglite-'));
  const liteStore = { provider: 'pglite', config: { path: folder, embedding_model_dims: DIMS } };
  const first = await measure(root, liteStore, fake);
  rows.push(`| PGlite, first start (creates the database) | ${first.idle.toFixed(1)} | ${first.peak.toFixed(1)} | ${first.end.toFixed(1)} |`);
  const again = await measure(root, liteStore, fake);
  rows.push(`| PGlite, later starts (database exists) | ${again.idle.toFixed(1)} | ${again.peak.toFixed(1)} | ${again.end.toFixed(1)} |`);
  if (process.env.TEST_DATABASE_URL) {
    const pg = await measure(root, { provider: 'pgvector', config: { connection_string: process.env.TEST_DATABASE_URL, collection_name: `rss_${Date.now()}`, embedding_model_dims: DIMS } }, fake);
    rows.push(`| PostgreSQL + pgvector | ${pg.idle.toFixed(1)} | ${pg.peak.toFixed(1)} | ${pg.end.toFixed(1)} |`);
  }
  await fake.close();
  return `## Resident memory of the plugin under load (\`node bench/memory/run.mjs\`)

The built bundle, started as Dify starts it (stdio), validates its credentials, then answers ${ADDS} add_memory calls
(sync mode, inference through the loopback fake OpenAI, ${DIMS}-dimension embeddings) and ${SEARCHES} search_memory
calls. Peak is VmHWM from /proc. The manifest's \`resource.memory\` covers the largest peak with a margin. A first start
unpacks the empty database the build ships (dist/pglite-template.tar.gz) instead of running PGlite's initdb in a second
in-process instance, which used to peak at 779–884 MiB; runs vary by ~±100 MiB with garbage-collection timing.

Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}.
Date: ${new Date().toISOString()}.

| database | RSS idle (MiB) | peak RSS (MiB) | RSS at the end (MiB) |
|---|---|---|---|
${rows.join('\n')}
`;
}
