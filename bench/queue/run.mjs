// Launcher of the queue benchmark (`npm run bench:queue`). It creates and deletes nothing else.
import { loadBench } from '../launch.mjs';

process.env.LOG_LEVEL ??= 'warn';
await loadBench('queue');
