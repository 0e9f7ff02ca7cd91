// Launcher of the forgetting benchmark (`npm run bench:forgetting`): bundles bench/forgetting/bench.ts with esbuild
// (packages stay external and resolve from node_modules) into .cache/bench-forgetting and runs it. It creates and
// deletes nothing else: PGlite runs in memory, and on PostgreSQL the benchmark drops the schema it made itself.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = path.join(root, '.cache', 'bench-forgetting');
const outfile = path.join(outDir, 'bench.mjs');
await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [path.join(root, 'bench', 'forgetting', 'bench.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
process.env.LOG_LEVEL ??= 'warn';
process.env.BENCH_REPO_ROOT = root;
await import(pathToFileURL(outfile).href);
