// Launcher of the queue benchmark (`node bench/queue/run.mjs`): bundles bench/queue/bench.ts with esbuild
// (packages stay external and resolve from node_modules) into .cache/bench-queue and runs it. It creates and
// deletes nothing else (the benchmark's database is in memory, or a schema it drops itself on PostgreSQL).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = path.join(root, '.cache', 'bench-queue');
const outfile = path.join(outDir, 'bench.mjs');
await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [path.join(root, 'bench', 'queue', 'bench.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
process.env.LOG_LEVEL ??= 'warn';
await import(pathToFileURL(outfile).href);
