// Builds <name>-<version>.difypkg from the plugin folder (`npm run package` runs the build first).
//
//   node scripts/package.mjs [--root DIR] [--out DIR] [--sign KEY.pem] [--category community]
//
// The files are chosen with Dify's own rules (.difyignore, see scripts/difyignore.mjs), written in
// sorted order like `dify plugin package` does, and checked: manifest.yaml at the root, main.py,
// requirements.txt and dist/plugin.js present, nothing from node_modules/, src/, tests/ or .git/, and
// at most 50 MiB uncompressed (the daemon's default PLUGIN_MAX_PACKAGE_SIZE, 52428800 bytes).
// Signing (--sign, or the env DIFY_PLUGIN_SIGNING_KEY holding a key file path) follows scripts/sign.mjs.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { collectPackageFiles, loadIgnoreRules } from './difyignore.mjs';
import { signPackage, writeZip } from './sign.mjs';

export const MAX_PACKAGE_BYTES = 52_428_800;
export const REQUIRED_FILES = ['manifest.yaml', 'main.py', 'requirements.txt', 'dist/plugin.js'];
const FORBIDDEN_PREFIXES = ['node_modules/', 'src/', 'tests/', '.git/'];
const FORBIDDEN_NAMES = ['.env'];
// Fixed timestamps make the package bytes depend on content only (SOURCE_DATE_EPOCH overrides).
const DEFAULT_MTIME = new Date('2000-01-01T00:00:00Z');

const here = path.dirname(fileURLToPath(import.meta.url));

export class PackageError extends Error {}

/**
 * Reads name and version from manifest.yaml.
 * @param {string} root
 */
export async function readManifestIdentity(root) {
  let text;
  try {
    text = await readFile(path.join(root, 'manifest.yaml'), 'utf8');
  } catch {
    throw new PackageError(`manifest.yaml not found in ${root}`);
  }
  const manifest = parseYaml(text);
  const name = manifest?.name;
  const version = manifest?.version;
  if (typeof name !== 'string' || !/^[a-z0-9_-]+$/.test(name)) {
    throw new PackageError('manifest.yaml: "name" must be lowercase letters, digits, "_" or "-"');
  }
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new PackageError('manifest.yaml: "version" must look like 1.2.3 (quote it if YAML reads it as a number)');
  }
  return { name, version };
}

function checkFileList(files, ignoreFile) {
  const missing = REQUIRED_FILES.filter((file) => !files.includes(file));
  if (missing.length > 0) {
    const hint = missing.includes('dist/plugin.js') ? ' (run `npm run build`; .difyignore must not drop dist/)' : '';
    throw new PackageError(`the package would miss ${missing.join(', ')}${hint}`);
  }
  const leaked = files.filter(
    (file) => FORBIDDEN_PREFIXES.some((prefix) => file.startsWith(prefix)) || FORBIDDEN_NAMES.includes(path.posix.basename(file)),
  );
  if (leaked.length > 0) {
    const shown = leaked.slice(0, 5).join(', ');
    throw new PackageError(`${ignoreFile ?? 'no ignore file'} lets development files into the package: ${shown}`);
  }
}

function checkSize(sizes) {
  const total = sizes.reduce((sum, entry) => sum + entry.size, 0);
  if (total <= MAX_PACKAGE_BYTES) return total;
  const largest = [...sizes]
    .sort((a, b) => b.size - a.size)
    .slice(0, 5)
    .map((entry) => `  ${entry.name}: ${entry.size} bytes`)
    .join('\n');
  throw new PackageError(
    `the package holds ${total} bytes uncompressed, over Dify's limit of ${MAX_PACKAGE_BYTES}. Largest files:\n${largest}`,
  );
}

/**
 * Builds (and optionally signs) the package; returns where it went and what it holds.
 * @param {{ root?: string, outDir?: string, signKeyPath?: string, category?: string }} [options]
 */
export async function createPackage(options = {}) {
  const root = path.resolve(options.root ?? path.join(here, '..'));
  const outDir = path.resolve(options.outDir ?? root);
  const { name, version } = await readManifestIdentity(root);
  const { file: ignoreFile, rules } = await loadIgnoreRules(root);
  const outName = `${name}-${version}.difypkg`;
  const files = (await collectPackageFiles(root, rules)).filter((file) => file !== outName);
  checkFileList(files, ignoreFile);

  const contents = [];
  for (const file of files) {
    contents.push({ name: file, data: await readFile(path.join(root, file)) });
  }
  const uncompressedBytes = checkSize(contents.map((entry) => ({ name: entry.name, size: entry.data.length })));

  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const mtime = Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : DEFAULT_MTIME;
  let zip = await writeZip(contents, { mtime });
  if (options.signKeyPath) {
    const key = await readFile(options.signKeyPath);
    zip = await signPackage(zip, key, { category: options.category, mtime });
  }
  if (zip.length > MAX_PACKAGE_BYTES) {
    throw new PackageError(`the package file is ${zip.length} bytes, over Dify's limit of ${MAX_PACKAGE_BYTES}`);
  }
  await mkdir(outDir, { recursive: true });
  const outPath = path.join(outDir, outName);
  await writeFile(outPath, zip);
  return { path: outPath, files, ignoreFile, uncompressedBytes, bytes: (await stat(outPath)).size, signed: Boolean(options.signKeyPath) };
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    const takeValue = () => {
      if (value === undefined || value.startsWith('--')) throw new PackageError(`${flag} needs a value`);
      i += 1;
      return value;
    };
    if (flag === '--root') options.root = takeValue();
    else if (flag === '--out') options.outDir = takeValue();
    else if (flag === '--sign') options.signKeyPath = takeValue();
    else if (flag === '--category') options.category = takeValue();
    else throw new PackageError(`unknown option ${flag} (known: --root, --out, --sign, --category)`);
  }
  if (!options.signKeyPath && process.env.DIFY_PLUGIN_SIGNING_KEY) options.signKeyPath = process.env.DIFY_PLUGIN_SIGNING_KEY;
  return options;
}

async function main() {
  try {
    const result = await createPackage(parseArgs(process.argv.slice(2)));
    const mib = (bytes) => (bytes / 1_048_576).toFixed(2);
    console.log(
      `${result.path}: ${result.files.length} files, ${mib(result.bytes)} MiB (${mib(result.uncompressedBytes)} MiB unpacked)` +
        `${result.signed ? ', signed' : ', unsigned'}`,
    );
  } catch (error) {
    console.error(`package: ${error instanceof PackageError ? error.message : error.stack}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
