// mem0ai's peer dependencies that are not installed. A bundle leaves them external (mem0ai imports each only when
// its provider is configured), so it builds without them: the plugin's (scripts/build.mjs) and the tests' own.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** esbuild `external` entries (the package and its subpaths) for every peer missing under `root`/node_modules. */
export function missingMem0Peers(root = process.cwd()) {
  const modules = path.join(root, 'node_modules');
  const manifest = JSON.parse(readFileSync(path.join(modules, 'mem0ai', 'package.json'), 'utf8'));
  return Object.keys(manifest.peerDependencies ?? {})
    .filter((name) => !existsSync(path.join(modules, name, 'package.json')))
    .flatMap((name) => [name, `${name}/*`]);
}
