// Launcher of the graph benchmark (`npm run bench:graph`): runs bench/graph/bench.ts and writes its section of
// docs/benchmarks.md (BENCH_WRITE=0: print only).
import { loadBench, root } from '../launch.mjs';
import { writeSection } from '../report.mjs';

process.env.LOG_LEVEL ??= 'warn';
const bench = await loadBench('graph');
const section = await bench.main();
process.stdout.write(`${section}\n`);
if (process.env.BENCH_WRITE !== '0') writeSection(root, 'graph', section);
