// Dependencies' console.* calls reach the logger as structured entries, reduced so no object body (headers, keys)
// can be logged through them.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { consoleText, routeConsoleToLogger, routeWarningsToLogger } from '../../src/runtime/console-route.js';

/** A debug-level logger whose JSON lines are kept in `lines`. */
function debugLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('console routed into the logger', () => {
  it('reduces errors to name and message and objects to their class name', () => {
    const request = { headers: { Authorization: 'Bearer sk-secret-1' } };
    const text = consoleText(['LLM extraction failed:', new TypeError('bad json'), request, 42]);
    expect(text).toBe('LLM extraction failed: TypeError: bad json [Object] 42');
    expect(text).not.toContain('sk-secret-1');
  });

  it('maps log/info to debug, warn to warn and error to error, all marked from=console', () => {
    const { logger, lines } = debugLogger();
    routeConsoleToLogger(logger);
    console.log('Connected to Redis');
    console.warn(`Memory with ID ${'m1'} does not exist`);
    console.error('Error during vector search:', new Error('timeout'));
    logger.level = 'info';
    console.info('hidden at info level');
    const entries = lines.map((line) => JSON.parse(line) as { level: number; from: string; msg: string });
    expect(entries.map(({ level, from, msg }) => ({ level, from, msg }))).toEqual([
      { level: 20, from: 'console', msg: 'Connected to Redis' },
      { level: 40, from: 'console', msg: 'Memory with ID m1 does not exist' },
      { level: 50, from: 'console', msg: 'Error during vector search: Error: timeout' },
    ]);
  });

  it("turns Node's process warnings into log entries: deprecations at debug level, others as warnings", async () => {
    const { logger, lines } = debugLogger();
    routeWarningsToLogger(logger);
    process.emitWarning('The `punycode` module is deprecated.', { type: 'DeprecationWarning', code: 'DEP0040' });
    process.emitWarning('Possible EventEmitter memory leak detected.', 'MaxListenersExceededWarning');
    await new Promise((resolve) => setImmediate(resolve));
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toEqual([
      expect.objectContaining({ level: 20, from: 'node', type: 'DeprecationWarning', code: 'DEP0040', msg: 'The `punycode` module is deprecated.' }),
      expect.objectContaining({ level: 40, from: 'node', type: 'MaxListenersExceededWarning', msg: 'Possible EventEmitter memory leak detected.' }),
    ]);
  });
});
