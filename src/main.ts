/**
 * Entry point: picks the door (stdio for an installed package, TCP for remote debugging) and runs the plugin.
 * (Skeleton: the runtime helper completes this.)
 * @module
 */
import { loadDeclarations } from './runtime/declarations.js';
import { createPluginApp } from './tools/index.js';
import { logger } from './log.js';

const declarations = loadDeclarations();
const app = createPluginApp(declarations);
logger.info({ tools: declarations.tools.length }, 'runtime not built yet');
await app.close();
