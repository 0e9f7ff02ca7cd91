// Launcher of the memory benchmark (`npm run bench:memory`): builds the plugin, runs bench/memory/bench.ts and writes
// its section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { loadBench, root } from '../launch.mjs';
import { writeSection } from '../report.mjs';

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
const { main } = await loadBench('memory');
const section = await main();
process.stdout.write(`${section}\n`);
if (process.env.BENCH_WRITE !== '0') writeSection(root, 'memory', section);
