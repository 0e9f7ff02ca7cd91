// Launcher of the memory benchmark: bundles bench/memory/bench.ts (packages stay external), builds the plugin first,
// runs it and writes its section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { writeSection } from '../report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outfile = path.join(root, '.cache', 'bench-memory', 'bench.mjs');
await mkdir(path.dirname(outfile), { recursive: true });
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
await build({ entryPoints: [path.join(root, 'bench', 'memory', 'bench.ts')], outfile, bundle: true, packages: 'external', platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' });
process.env.BENCH_REPO_ROOT = root;
const { main } = await import(pathToFileURL(outfile).href);
const section = await main();
process.stdout.write(`${section}\n`);
if (process.env.BENCH_WRITE !== '0') writeSection(root, 'memory', section);
