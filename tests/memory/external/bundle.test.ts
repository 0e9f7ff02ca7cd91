/**
 * The external vector-store door bundled the way scripts/build.mjs bundles the plugin (one ESM file, mem0ai peers
 * that are not installed stay external), run from a folder without node_modules: the native "memory" store
 * (better-sqlite3) and a store whose SDK is not in the build fail with a clear "needs package X which this build
 * does not include", and the bundled Chroma client is really there (a dead port is a connection failure, not a
 * missing package).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { missingMem0Peers } from '../../../scripts/mem0-peers.mjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';

const root = path.resolve(import.meta.dirname, '../../..');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vector-store-bundle-'));
  writeFileSync(path.join(dir, 'entry.ts'), `export { openExternalStore } from ${JSON.stringify(path.join(root, 'src/memory/external/stores.ts'))};`);
  await build({
    entryPoints: [path.join(dir, 'entry.ts')], outfile: path.join(dir, 'bundle', 'vs.js'), bundle: true, platform: 'node', target: 'node20',
    format: 'esm', logLevel: 'silent', external: missingMem0Peers(root), absWorkingDir: root,
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}, 120_000);

/** Runs `script` (ESM, `open` = openExternalStore) in a child process next to the bundle; resolves with its stdout. */
async function run(script: string): Promise<string> {
  const file = path.join(dir, 'bundle', `run-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import { openExternalStore as open } from './vs.js';\n${script}`);
  const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: path.join(dir, 'bundle'), timeout: 60_000 });
  return stdout.trim();
}

const CATCH = `.then(() => console.log('ok'), (e) => console.log(e.name + ': ' + e.message));`;

describe('external vector stores in the bundle', () => {
  it('the native "memory" store fails with a clear message, not a crash', async () => {
    const out = await run(`await open({ provider: 'memory', config: { db_path: ${JSON.stringify(path.join(dir, 'v.db'))}, embedding_model_dims: 3 } }).then((s) => s.store.list(undefined, 1))${CATCH}`);
    expect(out).toBe('EngineError: vector store memory needs package better-sqlite3 (a native module) which this build does not include');
  });

  it('a store whose SDK is not bundled names the package', async () => {
    const out = await run(`await open({ provider: 'qdrant', config: { url: 'http://127.0.0.1:1', embedding_model_dims: 3 } }).then((s) => s.store.list(undefined, 1))${CATCH}`);
    expect(out).toBe('EngineError: vector store qdrant needs package @qdrant/js-client-rest which this build does not include');
  });

  it('the Chroma client is bundled: a dead server is a connection failure', async () => {
    const port = await freePort();
    const out = await run(`await open({ provider: 'chroma', config: { host: '127.0.0.1', port: ${port}, ssl: false, embedding_model_dims: 3 } }).then((s) => s.store.list(undefined, 1))${CATCH}`);
    expect(out).toMatch(/^EngineError: vector store chroma failed: .*connect/i);
    expect(out).not.toMatch(/needs package/);
  });
});
