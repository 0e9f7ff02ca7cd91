#!/usr/bin/env node
/**
 * Entry point: guards stdout, picks the door (stdio for an installed package, TCP for remote debugging), builds the
 * app from the declarations and serves it until stdin closes or a signal arrives.
 *
 * Start-up stays light: in stdio mode the first heartbeat goes out before the declarations and tools are loaded,
 * and the app (tools and engine) is imported lazily. Shutdown: stop taking requests, let running sessions finish
 * (PLUGIN_SHUTDOWN_GRACE_MS, default 5 s), close the app, exit 0.
 *
 * With arguments (`node dist/plugin.js <tool> …`, `npm run try -- …`, the `mem0ai-dify` bin) it is the command line
 * instead (cli/index.ts): the daemon always starts the plugin without any.
 * @module
 */
import { forwardLogs, logger } from '../shared/log.js';
import { effectiveEnv, loadRuntimeConfig } from '../runtime/config.js';
import type { RuntimeConfig } from '../runtime/config.js';
import type { PluginHandlers } from '../runtime/contract.js';
import { routeConsoleToLogger, routeWarningsToLogger } from '../runtime/console-route.js';
import { loadDeclarations, pluginRoot } from '../runtime/declarations.js';
import type { Declarations } from '../runtime/declarations.js';
import { RemoteDoor } from '../runtime/remote-door.js';
import { SessionRouter } from '../runtime/session-router.js';
import { StdioDoor } from '../runtime/stdio-door.js';
import { protectStdout } from '../runtime/stdout-guard.js';

/** Longest we wait for app.close() before exiting anyway. */
const APP_CLOSE_TIMEOUT_MS = 10_000;

async function buildApp(declarations: Declarations): Promise<PluginHandlers> {
  const { createApp } = await import('./app.js');
  let app = createApp(declarations);
  if (process.env.PLUGIN_TEST_HOOKS === '1') {
    // Test-only fixture tools (see runtime/test-hooks.ts); never loaded without this variable.
    const { withTestHooks } = await import('../runtime/test-hooks.js');
    app = withTestHooks(app);
    logger.warn('PLUGIN_TEST_HOOKS=1: serving test-only __test_* tools');
  }
  return app;
}

async function closeApp(app: PluginHandlers): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      app.close(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, APP_CLOSE_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    logger.error({ reason: (error as Error)?.message }, 'app.close() failed');
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the first SIGTERM/SIGINT; a second signal exits at once. */
function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (signal: NodeJS.Signals) => {
      if (seen) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      seen = true;
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

/** Waits until everything queued on `stream` has been handed on. */
function flush(stream: NodeJS.WritableStream & { writableLength?: number }): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writableLength) return resolve();
    stream.write('', () => resolve());
  });
}

async function runLocal(config: RuntimeConfig, root: string): Promise<void> {
  const output = protectStdout();
  if (process.stdin.isTTY) {
    // A person started this in a terminal, not the daemon: tell them what it is (stderr; stdout is the protocol's).
    const { greeting } = await import('../cli/greeting.js');
    process.stderr.write(greeting(loadDeclarations(root).manifest.version ?? ''));
  }
  const door = new StdioDoor(process.stdin, output, config, logger);
  door.beginHeartbeat();
  // The transport is up: from here the plugin's logs are protocol `log` frames (fatal ones also on stderr).
  forwardLogs((record) => door.sendLog(record));
  const signal = firstSignal();

  const declarations = loadDeclarations(root);
  const app = await buildApp(declarations);
  const router = new SessionRouter({ handlers: app, logger, sessionTimeoutMs: config.sessionTimeoutMs });
  await door.serve(router);
  logger.info({ tools: declarations.tools.length }, 'serving over stdio');

  const reason = await Promise.race([signal, door.ended.then(() => 'stdin closed')]);
  logger.info({ reason, inFlight: router.inFlight }, 'shutting down');
  await router.drain(config.shutdownGraceMs);
  await door.stop();
  await closeApp(app);
  await flush(output);
}

async function runRemote(config: RuntimeConfig, root: string): Promise<void> {
  // Stray stdout is harmless on a socket, but keep one discipline in both modes.
  protectStdout();
  const settings = config.remote;
  if (!settings) throw new Error('remote settings missing');
  const signal = firstSignal();

  const declarations = loadDeclarations(root);
  const app = await buildApp(declarations);
  const router = new SessionRouter({ handlers: app, logger, sessionTimeoutMs: config.sessionTimeoutMs });
  const door = new RemoteDoor(settings, config, declarations, router, logger);
  door.start();
  logger.info({ tools: declarations.tools.length, daemon: `${settings.host}:${settings.port}` }, 'remote debugging');

  const reason = await signal;
  logger.info({ reason, inFlight: router.inFlight }, 'shutting down');
  await router.drain(config.shutdownGraceMs);
  await door.stop();
  await closeApp(app);
}

async function main(): Promise<void> {
  // Before any dependency loads: their console lines and Node's warnings go through the logger (runtime/console-route.ts).
  routeConsoleToLogger(logger);
  routeWarningsToLogger(logger);
  if (process.argv.length > 2) {
    const [{ runCli }, { createApp }] = await Promise.all([import('../cli/index.js'), import('./app.js')]);
    process.exitCode = await runCli(process.argv.slice(2), (declarations) => createApp(declarations));
    return;
  }
  const root = pluginRoot();
  const config = loadRuntimeConfig(effectiveEnv(process.env, root));
  if (config.installMethod === 'remote') await runRemote(config, root);
  else await runLocal(config, root);
}

/** Exits once the logger has flushed (or after a short wait). */
function exit(code: number): void {
  const timer = setTimeout(() => process.exit(code), 500);
  logger.flush(() => {
    clearTimeout(timer);
    process.exit(code);
  });
}

main().then(
  () => exit(typeof process.exitCode === 'number' ? process.exitCode : 0),
  (error: unknown) => {
    logger.fatal({ reason: (error as Error)?.message ?? String(error) }, 'plugin stopped by an error');
    exit(1);
  },
);
