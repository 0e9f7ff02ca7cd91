// Bundles the plugin into one ESM file (dist/plugin.js) so a packaged plugin needs no node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

// mem0ai loads each optional provider SDK (ollama, cohere-ai, @anthropic-ai/sdk, …) with import() only when that
// provider is configured. The ones not installed stay external, so the bundle builds without them and configuring
// such a provider fails with "needs package X which this build does not include" (src/memory/providers.ts).
function missingMem0Peers() {
  const manifest = JSON.parse(readFileSync('node_modules/mem0ai/package.json', 'utf8'));
  return Object.keys(manifest.peerDependencies ?? {})
    .filter((name) => !existsSync(`node_modules/${name}/package.json`))
    .flatMap((name) => [name, `${name}/*`]);
}

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/plugin.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  external: missingMem0Peers(),
  // Bundled CommonJS dependencies (pg, pino) still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
