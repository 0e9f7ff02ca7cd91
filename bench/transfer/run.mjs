// Launcher of the export/import benchmark (`node bench/transfer/run.mjs`): runs bench/transfer/bench.ts with its
// PGlite folders in a temporary folder made here with mkdtemp — the only folder this script deletes.
// BENCH_TRANSFER_N sets the number of memories (default 100 000); BENCH_WRITE=0 leaves docs/benchmarks.md alone.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadBench, root } from '../launch.mjs';
import { writeSection } from '../report.mjs';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'mem0-transfer-bench-'));
process.env.BENCH_TMP_DIR = tmp;
process.env.MEM0_TELEMETRY = 'false';
process.env.LOG_LEVEL ??= 'warn';
try {
  const bench = await loadBench('transfer');
  const section = await bench.main();
  process.stdout.write(`${section}\n`);
  if (process.env.BENCH_WRITE !== '0') writeSection(root, 'transfer', section);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
