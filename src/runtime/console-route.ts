/**
 * Sends what dependencies write with `console.*` (mem0ai prints plain lines such as "Memory with ID … does not exist"
 * or "LLM extraction failed: …") through the logger instead, so the installed plugin's stderr carries only the
 * logger's structured lines and the log level decides what is shown. console.log/info/debug become debug entries,
 * console.warn a warning and console.error an error, each marked `from: "console"`.
 *
 * Node's own process warnings (a dependency calling a deprecated API, e.g. `url.parse()`) are printed by Node's
 * default listener; routeWarningsToLogger replaces it: deprecations concern the code, not the operator, so they are
 * debug entries (`from: "node"`, with their code); other warnings stay warnings.
 *
 * Arguments are reduced to text without stacks or object bodies: an Error gives its name and message, other objects
 * only their class name, so a request object with headers (an API key) can never reach the log through here.
 * @module
 */
import { format } from 'node:util';
import type { Logger } from '../shared/log.js';

type Level = 'debug' | 'warn' | 'error';

const ROUTES: Record<'log' | 'info' | 'debug' | 'trace' | 'warn' | 'error', Level> = {
  log: 'debug',
  info: 'debug',
  debug: 'debug',
  trace: 'debug',
  warn: 'warn',
  error: 'error',
};

/** Longest text kept from one console call. */
const MAX_TEXT = 2_000;

function describe(arg: unknown): unknown {
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  if (arg !== null && typeof arg === 'object') return `[${arg.constructor?.name ?? 'object'}]`;
  return arg;
}

/** Text of one console call, as console would format it but with objects reduced (see the module comment). */
export function consoleText(args: unknown[]): string {
  const text = format(...args.map(describe));
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

let routed = false;

/** Replaces the console methods once for the whole process. */
export function routeConsoleToLogger(logger: Logger): void {
  if (routed) return;
  routed = true;
  for (const [method, level] of Object.entries(ROUTES)) {
    (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
      if (logger.isLevelEnabled(level)) logger[level]({ from: 'console' }, consoleText(args));
    };
  }
}

let warningsRouted = false;

/** Replaces Node's default printing of process warnings, once for the whole process. */
export function routeWarningsToLogger(logger: Logger): void {
  if (warningsRouted) return;
  warningsRouted = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const level = warning.name === 'DeprecationWarning' ? 'debug' : 'warn';
    logger[level]({ from: 'node', type: warning.name, code: warning.code }, warning.message);
  });
}
