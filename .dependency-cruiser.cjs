// The one-way stairs of src/ (docs/architecture.md): runtime <- tools <- app/ -> jobs -> memory -> store, with the
// shared leaves in shared/ (log, errors, backoff, ids) importable from every floor. src/ itself holds folders only, so
// no folder reaches another through a file at the root. `npm run check` fails on an upward import or any cycle, of
// files or of folders.

/** `from` may not import anything matching `to`. */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

module.exports = {
  forbidden: [
    { name: 'no-cycle', comment: 'No file may reach itself through its imports.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'no-folder-cycle',
      comment: 'No folder may reach itself through its files\' imports either (jobs/extraction <-> jobs/forgetting was such a loop with no file cycle): sibling folders depend one way. A shared contract lives in the folder that consumes it, and app.ts hands in the parts.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    forbid('shared-imports-nothing', 'shared/ (log, errors, backoff, ids) sits under every floor: it imports no other folder of ours.', '^src/shared/', '^src/(?!shared/)'),
    forbid('no-files-at-the-root', 'src/ holds folders only: a file at its root would sit between floors.', '', '^src/[^/]+\\.ts$'),
    forbid('store-is-the-ground-floor', 'store/ owns tables and SQL; it knows nothing above it.', '^src/store/', '^src/(memory|jobs|tools|runtime|app)/'),
    forbid('memory-below-jobs', 'memory/ is the engine: no queue, no tools, no wire errors.', '^src/memory/', '^src/(jobs|tools|runtime|app)/'),
    forbid('config-below-engine', 'memory/config/ parses settings; the engine and the adapters use it, never the reverse.', '^src/memory/config/', '^src/memory/(?!config/)'),
    forbid('jobs-below-app', 'jobs/ runs background work over memory/ and store/; it never sees tools or the wire.', '^src/jobs/', '^src/(tools|runtime|app)/'),
    forbid('tools-beside-jobs', 'tools/ reaches the engine only through the MemoryApi the app hands it.', '^src/tools/', '^src/(jobs|store|app)/'),
    forbid('runtime-is-the-wire', 'runtime/ speaks the daemon protocol and depends on nothing else of ours.', '^src/runtime/', '^src/(store|memory|jobs|tools|app)/'),
    forbid('cli-is-a-door', 'cli/ is the terminal door (command line, greeting): the wire types and declarations only; main.ts hands it the app.', '^src/cli/', '^src/(store|memory|jobs|tools|app)/'),
    forbid('nothing-imports-the-wiring', 'Only app/ itself (main.ts opens app.ts) imports app/.', '^src/(?!app/)', '^src/app/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
