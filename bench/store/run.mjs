// Launcher of the storage benchmark (`npm run bench:store`): bundles bench/store/bench.ts with esbuild (packages
// stay external and resolve from node_modules), then runs it with telemetry off and mem0ai's home folder and
// history files in a temporary folder made here with mkdtemp — the only folder this script ever deletes.
// `node bench/store/run.mjs explain` runs bench/store/explain.ts the same way instead.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { writeSection } from '../report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = path.join(root, '.cache', 'bench-store');
const entry = process.argv[2] === 'explain' ? 'explain' : 'bench';
const outfile = path.join(outDir, `${entry}.mjs`);
await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [path.join(root, 'bench', 'store', `${entry}.ts`)],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});

const tmp = await mkdtemp(path.join(os.tmpdir(), 'mem0-store-bench-'));
process.env.MEM0_TELEMETRY = 'false';
process.env.MEM0_DIR = path.join(tmp, 'mem0-home');
process.env.BENCH_TMP_DIR = tmp;
process.env.BENCH_REPO_ROOT = root;
process.env.LOG_LEVEL ??= 'warn';
try {
  const bench = await import(pathToFileURL(outfile).href);
  if (typeof bench.main === 'function') {
    const section = await bench.main();
    process.stdout.write(`${section}\n`);
    if (process.env.BENCH_WRITE !== '0') writeSection(root, 'store', section);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
