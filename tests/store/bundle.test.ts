/**
 * The packaged plugin is one bundle with no node_modules: PGlite must find its WASM, data and the pgvector tarball
 * next to the bundle, where `npm run build` copies them. This builds a tiny program over src/store with the plugin's
 * bundle options, puts it beside the assets from dist/ in an empty temp folder, and runs it there.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';

const repo = path.resolve(import.meta.dirname, '../..');
const ASSETS = ['pglite.wasm', 'pglite.data', 'initdb.wasm', 'vector.tar.gz', 'pglite-template.tar.gz'];

describe('PGlite inside a bundle without node_modules', () => {
  let tmp: string;
  let app: string;

  const run = (dataDir: string) =>
    spawnSync(process.execPath, [path.join(app, 'selfcheck.js'), dataDir], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 90_000,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error' },
    });

  beforeAll(async () => {
    // `npm test` builds first; build here only when dist/ lacks the assets (e.g. running this file alone).
    const missing = await Promise.all(ASSETS.map((f) => stat(path.join(repo, 'dist', f)).then(() => false, () => true)));
    if (missing.some(Boolean)) {
      const res = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
      expect(res.status, res.stderr).toBe(0);
    }
    tmp = await mkdtemp(path.join(tmpdir(), 'store-bundle-'));
    app = path.join(tmp, 'app');
    await build({
      entryPoints: [path.join(repo, 'tests/store/fixtures/bundle-entry.ts')],
      outfile: path.join(app, 'selfcheck.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'error',
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });
    for (const f of ASSETS) await copyFile(path.join(repo, 'dist', f), path.join(app, f));
  }, 180_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('opens PGlite with pgvector from the assets beside the bundle, and keeps data across runs', () => {
    const dataDir = path.join(tmp, 'data');
    const first = run(dataDir);
    expect(first.status, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { pgvector: string; count: number; top: { data: string; keywordScore: number } };
    expect(out.pgvector).toMatch(/^0\.8\./);
    expect(out.count).toBe(1);
    expect(out.top).toMatchObject({ data: '在打包里也能找到这个词', keywordScore: expect.any(Number) });
    expect(out.top.keywordScore).toBeGreaterThan(0);
    const second = run(dataDir);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).count).toBe(2);
  }, 180_000);

  it('a first start unpacks the empty-database template beside the bundle and never needs initdb', async () => {
    await rm(path.join(app, 'initdb.wasm'));
    for (const dataDir of [path.join(tmp, 'from-template'), 'memory://']) {
      const res = run(dataDir);
      expect(res.status, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).count).toBe(1);
    }
  }, 180_000);

  it('without the template a first start runs initdb instead', async () => {
    await copyFile(path.join(repo, 'dist', 'initdb.wasm'), path.join(app, 'initdb.wasm'));
    await rm(path.join(app, 'pglite-template.tar.gz'));
    const res = run(path.join(tmp, 'from-initdb'));
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).count).toBe(1);
  }, 180_000);

  it('fails without the pgvector tarball (the bundle really loads it from beside itself)', async () => {
    await rm(path.join(app, 'vector.tar.gz'));
    const res = run('memory://');
    expect(res.status).not.toBe(0);
  }, 120_000);
});
