// Launcher of the forgetting benchmark (`npm run bench:forgetting`). It creates and deletes nothing else: PGlite runs
// in memory, and on PostgreSQL the benchmark drops the schema it made itself.
import { loadBench } from '../launch.mjs';

process.env.LOG_LEVEL ??= 'warn';
await loadBench('forgetting');
