// The embedded database's start template (scripts/pglite-template.mjs): same bytes on every build, no lock file of the
// process that made it, and it still opens as a database.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { listTarGz } from '../../scripts/pglite-template.mjs';
import { removeTempDirs, repoRoot, tempDir } from './fixture.js';

const run = promisify(execFile);
const script = path.join(repoRoot, 'scripts', 'pglite-template.mjs');

afterAll(removeTempDirs);

async function makeTemplate(): Promise<Buffer> {
  const out = path.join(await tempDir('template'), 'pglite-template.tar.gz');
  await run(process.execPath, [script, out], { cwd: repoRoot, timeout: 120_000 });
  return readFile(out);
}

describe('pglite-template.tar.gz', () => {
  it('is byte-for-byte the same from two builds, has no postmaster.pid, and opens as an empty database', async () => {
    const first = await makeTemplate();
    const second = await makeTemplate();
    expect(first.length).toBeGreaterThan(0);
    expect(first.equals(second)).toBe(true);
    // gzip header: no stored timestamp (bytes 4–7).
    expect(first.readUInt32LE(4)).toBe(0);

    const names = await listTarGz(first);
    expect(names).toContain('/PG_VERSION');
    expect(names.filter((name) => name.endsWith('postmaster.pid'))).toEqual([]);
    expect(names).toEqual([...names].sort());

    const db = await PGlite.create('memory://', { loadDataDir: new Blob([new Uint8Array(first)]) });
    try {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_database');
      expect(rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 240_000);

  it.skipIf(!existsSync(path.join(repoRoot, 'dist', 'pglite-template.tar.gz')))('the built one in dist/ carries no pid file', async () => {
    const names = await listTarGz(await readFile(path.join(repoRoot, 'dist', 'pglite-template.tar.gz')));
    expect(names.some((name) => name.endsWith('postmaster.pid'))).toBe(false);
  });
});
