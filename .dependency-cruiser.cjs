// The one-way stairs of src/ (docs/architecture.md): runtime <- tools <- app -> jobs -> memory -> store, with the
// shared leaves log.ts, errors.ts, backoff.ts and ids.ts importable from every floor. `npm run check` fails on an upward
// import or any cycle.
const LEAVES = '^src/(log|errors|backoff|ids)\\.ts$';

/** `from` may not import anything matching `to`. */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

module.exports = {
  forbidden: [
    { name: 'no-cycle', comment: 'No file may reach itself through its imports.', severity: 'error', from: {}, to: { circular: true } },
    forbid('leaves-import-nothing', 'log.ts, errors.ts, backoff.ts and ids.ts sit under every floor: they import no folder of ours.', LEAVES, '^src/[^/]+/'),
    forbid('store-is-the-ground-floor', 'store/ owns tables and SQL; it knows nothing above it.', '^src/store/', '^src/(memory|jobs|tools|runtime)/|^src/(app|main)\\.ts$'),
    forbid('memory-below-jobs', 'memory/ is the engine: no queue, no tools, no wire errors.', '^src/memory/', '^src/(jobs|tools|runtime)/|^src/(app|main)\\.ts$'),
    forbid('config-below-engine', 'memory/config/ parses settings; the engine and the adapters use it, never the reverse.', '^src/memory/config/', '^src/memory/(?!config/)'),
    forbid('jobs-below-app', 'jobs/ runs background work over memory/ and store/; it never sees tools or the wire.', '^src/jobs/', '^src/(tools|runtime)/|^src/(app|main)\\.ts$'),
    forbid('tools-beside-jobs', 'tools/ reaches the engine only through the MemoryApi the app hands it.', '^src/tools/', '^src/(jobs|store)/|^src/(app|main)\\.ts$'),
    forbid('runtime-is-the-wire', 'runtime/ speaks the daemon protocol and depends on nothing else of ours.', '^src/runtime/', '^src/(store|memory|jobs|tools)/|^src/(app|main)\\.ts$'),
    forbid('cli-is-a-door', 'cli/ is the terminal door (command line, greeting): the wire types and declarations only; main.ts hands it the app.', '^src/cli/', '^src/(store|memory|jobs|tools)/|^src/(app|main)\\.ts$'),
    forbid('nothing-imports-the-wiring', 'Only main.ts opens the app.', '^src/(?!main\\.ts$)', '^src/(app|main)\\.ts$'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
