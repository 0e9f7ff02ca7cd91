/**
 * mem0ai bundled the way scripts/build.mjs bundles the plugin (one ESM file, missing optional peers external),
 * run from a folder without node_modules: the openai path works against the fake, telemetry is off at load,
 * every bundled provider SDK (Anthropic, Groq, Mistral, Gemini, AWS Bedrock, Cohere, ZeroEntropy) loads from the bundle and
 * reaches its loopback fake, and a provider this build cannot run fails with a clear message.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { missingMem0Peers } from '../../scripts/mem0-peers.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { anthropicApi, bedrockApi, cohereApi, FakeApi, geminiApi, groqApi, mistralApi, wordOverlap, zeroEntropyApi } from '../helpers/fake-provider-apis.js';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
const fake = useFakeModel({ dims: 8 });
const apis: Record<string, FakeApi> = {};

beforeAll(async () => {
  const said = (): string => '{"facts": ["bundled"]}';
  apis.anthropic = await FakeApi.start(anthropicApi(said));
  apis.groq = await FakeApi.start(groqApi(said));
  apis.mistral = await FakeApi.start(mistralApi(said));
  apis.gemini = await FakeApi.start(geminiApi(said, 8));
  apis.cohere = await FakeApi.start(cohereApi(wordOverlap));
  apis.zeroentropy = await FakeApi.start(zeroEntropyApi(wordOverlap));
  apis.bedrock = await FakeApi.start(bedrockApi(said, 8), { http2: true });
  dir = mkdtempSync(path.join(tmpdir(), 'engine-bundle-'));
  writeFileSync(path.join(dir, 'entry.ts'), [
    `export { createProviders } from ${JSON.stringify(path.join(root, 'src/memory/providers.ts'))};`,
    `export { telemetryFlagAtLoad } from ${JSON.stringify(path.join(root, 'src/memory/mem0.ts'))};`,
  ].join('\n'));
  await build({
    entryPoints: [path.join(dir, 'entry.ts')], outfile: path.join(dir, 'engine.js'), bundle: true, platform: 'node', target: 'node20',
    format: 'esm', logLevel: 'silent', external: missingMem0Peers(root), absWorkingDir: root,
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  rmSync(path.join(dir, 'entry.ts'));
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(apis).map((api) => api.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bundled mem0ai', () => {
  it('works from a folder without node_modules', async () => {
    const urls = Object.fromEntries(Object.entries(apis).map(([name, api]) => [name, api.url()]));
    const script = `
      const URLS = ${JSON.stringify(urls)};
      const m = await import('./engine.js');
      const out = { before: m.telemetryFlagAtLoad() ?? null };
      const p = await m.createProviders({
        llm: { provider: 'openai', config: { api_key: 'sk-b', openai_base_url: ${JSON.stringify(fake.baseURL)}, model: 'gpt-b' } },
        embedder: { provider: 'openai', config: { api_key: 'sk-b', openai_base_url: ${JSON.stringify(fake.baseURL)}, embedding_dims: 8 } },
      }, { timeoutMs: 5000 });
      out.after = m.telemetryFlagAtLoad();
      out.llm = await p.llm.completeJson([{ role: 'user', content: 'hi' }]);
      out.dims = (await p.embedder.embed('hello', 'search')).length;
      const refused = m.createProviders({ llm: { provider: 'openai', config: { api_key: 'k' } }, embedder: { provider: 'fastembed', config: {} } }, { timeoutMs: 2000 });
      out.refused = await refused.then(() => 'ok', (e) => e.code + ': ' + e.message.split(';')[0]);
      // Every bundled SDK, loaded from the bundle (no node_modules here), against its fake.
      const sdk = async (llm, reranker) => m.createProviders({ llm, embedder: { provider: 'openai', config: { api_key: 'k' } }, reranker }, { timeoutMs: 10000 });
      const asked = async (llm) => (await sdk(llm)).llm.completeJson([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]);
      out.anthropic = await asked({ provider: 'anthropic', config: { api_key: 'k', anthropic_base_url: URLS.anthropic } });
      out.groq = await asked({ provider: 'groq', config: { api_key: 'k', base_url: URLS.groq } });
      out.mistral = await asked({ provider: 'mistral', config: { api_key: 'k', base_url: URLS.mistral } });
      out.gemini = await asked({ provider: 'gemini', config: { api_key: 'k', base_url: URLS.gemini } });
      out.bedrock = await asked({ provider: 'aws_bedrock', config: { aws_access_key_id: 'A', aws_secret_access_key: 's', base_url: URLS.bedrock } });
      const g = await m.createProviders({ llm: { provider: 'openai', config: { api_key: 'k' } }, embedder: { provider: 'gemini', config: { api_key: 'k', base_url: URLS.gemini, embedding_dims: 8 } } }, { timeoutMs: 10000 });
      out.geminiDims = (await g.embedder.embed('x', 'add')).length;
      out.cohere = await (await sdk({ provider: 'openai', config: { api_key: 'k' } }, { provider: 'cohere', config: { api_key: 'k', base_url: URLS.cohere } })).reranker.rerank('bees', ['tea', 'bees'], 2);
      out.zeroentropy = await (await sdk({ provider: 'openai', config: { api_key: 'k' } }, { provider: 'zero_entropy', config: { api_key: 'k', base_url: URLS.zeroentropy + '/v1' } })).reranker.rerank('bees', ['tea', 'bees'], 2);
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
      refused: 'config: local_embedder_json_secret.provider "fastembed" cannot run in this build: it runs a model on this machine, downloaded from a model hub at run time, which the packaged plugin cannot do (and needs the native ONNX runtime)',
      anthropic: '{"facts": ["bundled"]}',
      groq: '{"facts": ["bundled"]}',
      mistral: '{"facts": ["bundled"]}',
      gemini: '{"facts": ["bundled"]}',
      bedrock: '{"facts": ["bundled"]}',
      geminiDims: 8,
      cohere: [{ index: 1, score: 1 }, { index: 0, score: 0 }],
      zeroentropy: [{ index: 1, score: 1 }, { index: 0, score: 0 }],
      ollama: fake.dims,
    });
    expect(fake.chatCalls()[0]!.model).toBe('gpt-b');
  }, 90_000);
});
