// Launcher of the storage benchmark (`npm run bench:store`): runs bench/store/bench.ts with telemetry off and
// mem0ai's home folder and history files in a temporary folder made here with mkdtemp — the only folder this script
// ever deletes. `node bench/store/run.mjs explain` runs bench/store/explain.ts the same way instead, and
// `node bench/store/run.mjs cpu` bench/store/cpu.ts (node CPU per add and search, ours beside raw; prints only), and
// `node bench/store/run.mjs add-cost` bench/store/add-cost.ts (an add's database time with each index dropped in turn),
// and `node bench/store/run.mjs plans` bench/store/plans.ts (the general and the small-scope search statement side by side).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadBench, root } from '../launch.mjs';
import { writeSection } from '../report.mjs';

const entry = ['explain', 'cpu', 'add-cost', 'plans'].includes(process.argv[2]) ? process.argv[2] : 'bench';
const tmp = await mkdtemp(path.join(os.tmpdir(), 'mem0-store-bench-'));
process.env.MEM0_TELEMETRY = 'false';
process.env.MEM0_DIR = path.join(tmp, 'mem0-home');
process.env.BENCH_TMP_DIR = tmp;
process.env.LOG_LEVEL ??= 'warn';
try {
  const bench = await loadBench('store', entry);
  if (typeof bench.main === 'function') {
    const section = await bench.main();
    process.stdout.write(`${section}\n`);
    if (entry === 'bench' && process.env.BENCH_WRITE !== '0') writeSection(root, 'store', section);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
