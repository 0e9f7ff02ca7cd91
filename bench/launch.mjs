// Shared launcher for the TypeScript benchmarks: bundles bench/<name>/<entry>.ts with esbuild (packages stay external
// and resolve from node_modules) into .cache/bench-<name>/ and imports it.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function loadBench(name, entry = 'bench') {
  const outfile = path.join(root, '.cache', `bench-${name}`, `${entry}.mjs`);
  await mkdir(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [path.join(root, 'bench', name, `${entry}.ts`)],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
  });
  process.env.BENCH_REPO_ROOT = root;
  return import(pathToFileURL(outfile).href);
}
