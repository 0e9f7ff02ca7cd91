// `node scripts/package.mjs` writes <name>-<version>.difypkg with Dify's file rules and refuses bad packages.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readZip } from '../../scripts/sign.mjs';
import { makeFixturePlugin, packageScript, removeTempDirs, repoRoot, tempDir } from './fixture.js';

const run = promisify(execFile);
const LIMIT = 52_428_800;

afterAll(removeTempDirs);

/** Runs the packaging script on a folder; the package always goes to a fresh temp folder. */
async function packageFolder(root: string, ...args: string[]) {
  const out = await tempDir('out');
  try {
    const { stdout, stderr } = await run(process.execPath, [packageScript, '--root', root, '--out', out, ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr, out };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', out };
  }
}

async function listZip(file: string): Promise<string[]> {
  const { entries } = await readZip(await readFile(file));
  return entries.map((entry) => entry.name);
}

describe('package layout (fixture plugin)', () => {
  it('ships the runtime files and declarations, and nothing from development', async () => {
    const root = await makeFixturePlugin();
    const result = await packageFolder(root);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const file = path.join(result.out, 'fixture_plugin-1.2.3.difypkg');
    expect(result.stdout).toContain(file);
    expect(await listZip(file)).toEqual([
      '.difyignore',
      'LICENSE',
      'PRIVACY.md',
      'README.md',
      '_assets/icon.svg',
      'dist/plugin.js',
      'dist/plugin.js.LEGAL.txt',
      'i18n/en_US.json',
      'i18n/zh_Hans.json',
      'main.py',
      'manifest.yaml',
      'package.json',
      'provider/fixture.yaml',
      'requirements.txt',
      'tools/echo.yaml',
    ]);
    const { entries } = await readZip(await readFile(file));
    const i18n = entries.find((entry) => entry.name === 'i18n/zh_Hans.json');
    expect(JSON.parse(i18n?.data.toString('utf8') ?? '{}')).toEqual({ hello: '你好' });
  });

  it('is byte-for-byte reproducible from the same files', async () => {
    const root = await makeFixturePlugin();
    const first = await packageFolder(root);
    const second = await packageFolder(root);
    const name = 'fixture_plugin-1.2.3.difypkg';
    const [a, b] = await Promise.all([readFile(path.join(first.out, name)), readFile(path.join(second.out, name))]);
    expect(a.equals(b)).toBe(true);
  });

  it('fails loudly when the bundle is missing', async () => {
    const root = await makeFixturePlugin();
    await rm(path.join(root, 'dist'), { recursive: true });
    const result = await packageFolder(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('dist/plugin.js');
    expect(existsSync(path.join(result.out, 'fixture_plugin-1.2.3.difypkg'))).toBe(false);
  });

  it('refuses an ignore file that lets node_modules or secrets in', async () => {
    const root = await makeFixturePlugin({ '.difyignore': 'src/\ntests/\n.git/\n' });
    const result = await packageFolder(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node_modules\/left-pad/);
  });

  it('refuses a package over 50 MiB unpacked and names the largest files', async () => {
    const root = await makeFixturePlugin();
    await writeFile(path.join(root, 'dist', 'huge.bin'), randomBytes(LIMIT));
    const result = await packageFolder(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`over Dify's limit of ${LIMIT}`);
    expect(result.stderr).toContain('dist/huge.bin');
  });

  it('rejects a manifest without a usable name or version', async () => {
    const root = await makeFixturePlugin({ 'manifest.yaml': 'name: Fixture Plugin\nversion: 1.0\n' });
    const result = await packageFolder(root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"name"');
  });
});

const repoReady = existsSync(path.join(repoRoot, 'manifest.yaml'));

describe.skipIf(!repoReady)('package layout (this repository)', () => {
  it('packs manifest.yaml at the root with the bundle, under 50 MiB, without development files', async () => {
    if (!existsSync(path.join(repoRoot, 'dist', 'plugin.js'))) {
      await run(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, timeout: 120_000 });
    }
    // Reads the repository in place; the package is written to a temp folder and nothing in the repo changes.
    const result = await packageFolder(repoRoot);
    expect(result.code, result.stderr).toBe(0);
    const manifest = await readFile(path.join(repoRoot, 'manifest.yaml'), 'utf8');
    const name = /^name:\s*(\S+)/m.exec(manifest)?.[1];
    const version = /^version:\s*(\S+)/m.exec(manifest)?.[1];
    const file = path.join(result.out, `${name}-${version}.difypkg`);
    const names = await listZip(file);
    for (const required of ['manifest.yaml', 'main.py', 'requirements.txt', '.difyignore', 'dist/plugin.js']) {
      expect(names).toContain(required);
    }
    expect(names.filter((entry) => /^(node_modules|src|tests|scripts|\.git)\//.test(entry))).toEqual([]);
    expect(names.filter((entry) => entry.endsWith('.map'))).toEqual([]);
    expect((await stat(file)).size).toBeLessThan(LIMIT);
    const { entries } = await readZip(await readFile(file));
    expect(entries.reduce((sum, entry) => sum + entry.data.length, 0)).toBeLessThan(LIMIT);
  });
});
