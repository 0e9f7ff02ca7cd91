/**
 * mem0ai bundled the way scripts/build.mjs bundles the plugin (one ESM file, missing optional peers external),
 * run from a folder without node_modules: the openai path works against the fake, telemetry is off at load,
 * and a provider whose SDK is not bundled fails with a clear message instead of breaking the bundle.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../helpers/fake-openai.js';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
let fake: FakeOpenAI;

/** Same rule as scripts/build.mjs: mem0ai peers that are not installed stay external. */
function missingMem0Peers(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(root, 'node_modules/mem0ai/package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
  return Object.keys(manifest.peerDependencies ?? {})
    .filter((name) => !existsSync(path.join(root, 'node_modules', name, 'package.json')))
    .flatMap((name) => [name, `${name}/*`]);
}

beforeAll(async () => {
  fake = await FakeOpenAI.start({ dims: 8 });
  dir = mkdtempSync(path.join(tmpdir(), 'engine-bundle-'));
  writeFileSync(path.join(dir, 'entry.ts'), [
    `export { createProviders } from ${JSON.stringify(path.join(root, 'src/memory/providers.ts'))};`,
    `export { telemetryFlagAtLoad } from ${JSON.stringify(path.join(root, 'src/memory/mem0.ts'))};`,
  ].join('\n'));
  await build({
    entryPoints: [path.join(dir, 'entry.ts')], outfile: path.join(dir, 'engine.js'), bundle: true, platform: 'node', target: 'node20',
    format: 'esm', logLevel: 'silent', external: missingMem0Peers(), absWorkingDir: root,
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  rmSync(path.join(dir, 'entry.ts'));
}, 120_000);

afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bundled mem0ai', () => {
  it('works from a folder without node_modules', async () => {
    const script = `
      const m = await import('./engine/engine.js');
      const out = { before: m.telemetryFlagAtLoad() ?? null };
      const p = await m.createProviders({
        llm: { provider: 'openai', config: { api_key: 'sk-b', openai_base_url: ${JSON.stringify(fake.baseURL)}, model: 'gpt-b' } },
        embedder: { provider: 'openai', config: { api_key: 'sk-b', openai_base_url: ${JSON.stringify(fake.baseURL)}, embedding_dims: 8 } },
      }, { timeoutMs: 5000 });
      out.after = m.telemetryFlagAtLoad();
      out.llm = await p.llm.completeJson([{ role: 'user', content: 'hi' }]);
      out.dims = (await p.embedder.embed('hello', 'search')).length;
      const o = await m.createProviders({ llm: { provider: 'openai', config: { api_key: 'k' } }, embedder: { provider: 'gemini', config: { api_key: 'k' } } }, { timeoutMs: 2000 });
      out.gemini = await o.embedder.embed('x', 'add').then(() => 'ok', (e) => e.code + ': ' + e.message);
      // Ollama needs no package of its own: it is reached through its OpenAI-compatible API.
      const host = ${JSON.stringify(fake.baseURL.replace(/\/v1$/, ''))};
      const l = await m.createProviders({ llm: { provider: 'ollama', config: { ollama_base_url: host } }, embedder: { provider: 'ollama', config: { ollama_base_url: host } } }, { timeoutMs: 5000 });
      out.ollama = (await l.embedder.embed('hello', 'search')).length;
      process.stdout.write(JSON.stringify(out));
    `;
    fake.reply('{"facts": []}');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 });
    expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
    expect(JSON.parse(stdout)).toEqual({
      before: null,
      after: 'false',
      llm: '{"facts": []}',
      dims: 8,
      gemini: 'missing_package: embedder provider gemini needs package @google/genai which this build does not include',
      ollama: fake.dims,
    });
    expect(fake.chatCalls()[0]!.model).toBe('gpt-b');
  }, 90_000);
});
