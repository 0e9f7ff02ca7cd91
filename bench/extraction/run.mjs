// Launcher of the extraction benchmark (`npm run bench:extraction`). It creates and deletes nothing else (the
// benchmark's database is in memory, or a schema it drops itself on PostgreSQL).
import { loadBench } from '../launch.mjs';

process.env.LOG_LEVEL ??= 'warn';
await loadBench('extraction');
