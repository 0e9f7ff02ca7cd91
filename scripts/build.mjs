// Bundles the plugin into one ESM file (dist/plugin.js) so a packaged plugin needs no node_modules.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { missingMem0Peers } from './mem0-peers.mjs';

// mem0ai loads each optional provider SDK with import() only when that provider is configured. The model-provider
// SDKs its factories load are dependencies, so they are bundled: @anthropic-ai/sdk, groq-sdk, @google/genai,
// @mistralai/mistralai, @aws-sdk/client-bedrock-runtime, cohere-ai, zeroentropy (and openai, mem0ai's own). Which
// providers run, and how, is one table: src/memory/config/provider-catalog.ts; the rest (Vertex AI, fastembed,
// local Hugging Face models, LangChain) are refused there with a clear message. Peers not installed stay external
// so the bundle builds without them.
// Vector stores: of mem0ai's store SDKs only `chromadb` (a pure-JS client, tested against a real Chroma server) is a
// dependency, so only it is bundled; the others stay external the same way (src/memory/external/stores.ts).
// better-sqlite3 (mem0ai's "memory" store) is a native module: its JS is bundled but its binary cannot load from the
// bundle, so configuring "memory" fails with a clear message instead of a crash (tests/memory/external/bundle.test.ts).

await build({
  entryPoints: ['src/app/main.ts'],
  outfile: 'dist/plugin.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  external: missingMem0Peers(),
  // tr46 (under the OpenAI SDK that mem0ai bundles) requires Node's built-in `punycode`, deprecated since Node 21: the
  // first require prints a DeprecationWarning on the installed plugin's stderr. The same code from npm (the package
  // `punycode`, which the built-in is a copy of) is bundled instead; `punycode/` names the package, not the built-in.
  alias: { punycode: 'punycode/' },
  // Bundled CommonJS dependencies (pg, pino) still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});

// Embedded PGlite loads its WASM binaries, its file-system image and extension tarballs at run time by URL relative
// to the module that contains it (`new URL('./pglite.wasm', import.meta.url)`). Bundled, that module is
// dist/plugin.js, so the files must sit next to it. (tests/store/bundle.test.ts proves a bundle opens PGlite with
// pgvector from a folder that has these files and no node_modules.)
const require = createRequire(import.meta.url);
const PGLITE_ASSETS = [
  { pkg: '@electric-sql/pglite', files: ['pglite.wasm', 'pglite.data', 'initdb.wasm'] },
  { pkg: '@electric-sql/pglite-pgvector', files: ['vector.tar.gz'] },
];
await mkdir('dist', { recursive: true });
for (const { pkg, files } of PGLITE_ASSETS) {
  // Each package's main entry lives in its dist/ folder, next to the assets.
  const dir = path.dirname(require.resolve(pkg));
  for (const file of files) await copyFile(path.join(dir, file), path.join('dist', file));
}

// A freshly initialised, empty data directory (src/store/pool.ts: PGLITE_TEMPLATE). A first start unpacks it instead of
// running initdb in a second WASM instance: about 300 MiB less peak memory and half the start time. Made in a process
// of its own, which pins the clock and entropy so the bytes are the same on every build (scripts/pglite-template.mjs).
execFileSync(process.execPath, ['scripts/pglite-template.mjs', 'dist/pglite-template.tar.gz'], { stdio: 'inherit' });
