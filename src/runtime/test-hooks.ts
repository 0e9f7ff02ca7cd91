/**
 * TEST-ONLY tools, so protocol tests and benchmarks can drive the real bundle without the memory engine.
 *
 * Active only when the environment has `PLUGIN_TEST_HOOKS=1` (main.ts imports this module lazily and only then);
 * a normal install never serves them. They are not declared in any YAML and answer under any provider name:
 * - `__test_echo`   streams `{"json_object":{"parameters","credential_type","user_id"}}` then a text "echo";
 * - `__test_noop`   streams nothing (measures pure protocol overhead);
 * - `__test_throw`  throws a plain Error whose message contains the credentials (must never reach the daemon);
 * - `__test_plugin_error` throws PluginError("TestError", "expected failure", {field: "x"});
 * - `__test_sleep`  waits `ms` (default 100) honouring the session's abort signal, then streams text "slept <ms>";
 * - `__test_big`    streams a text of `text_bytes` and/or a json holding `json_bytes` characters;
 * - `__test_stdout` writes through process.stdout.write and console.log (the stdout guard must divert both);
 * - `__test_memory` runs a full GC when node was started with --expose-gc, then streams process.memoryUsage().
 * validate_tool_credentials: `{"__test_result":"ok"}` passes, `{"__test_result":"fail"}` fails, else the app decides.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CREDENTIAL_VALIDATION_ERROR, PluginError } from './contract.js';
import type { InvokeToolRequest, PluginHandlers, SessionContext, ToolMessage } from './contract.js';

function num(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

async function* testTool(request: InvokeToolRequest, context: SessionContext): AsyncGenerator<ToolMessage> {
  const p = request.toolParameters;
  switch (request.tool) {
    case '__test_echo':
      yield {
        type: 'json',
        message: {
          json_object: { parameters: p, credential_type: request.credentialType ?? null, user_id: context.userId },
        },
        meta: null,
      };
      yield { type: 'text', message: { text: 'echo' }, meta: null };
      return;
    case '__test_noop':
      return;
    case '__test_throw':
      throw new Error(`database exploded; credentials were ${JSON.stringify(request.credentials)}`);
    case '__test_plugin_error':
      throw new PluginError('TestError', 'expected failure', { field: 'x' });
    case '__test_sleep': {
      const ms = num(p.ms, 100);
      await sleep(ms, undefined, { signal: context.signal });
      yield { type: 'text', message: { text: `slept ${ms}` }, meta: null };
      return;
    }
    case '__test_big': {
      const textBytes = num(p.text_bytes, 0);
      const jsonBytes = num(p.json_bytes, 0);
      if (textBytes > 0) yield { type: 'text', message: { text: 'x'.repeat(textBytes) }, meta: null };
      if (jsonBytes > 0) yield { type: 'json', message: { json_object: { blob: 'y'.repeat(jsonBytes) } }, meta: null };
      return;
    }
    case '__test_stdout':
      process.stdout.write('stray write from a dependency\n');
      // eslint-disable-next-line no-console -- deliberately simulating third-party console output
      console.log('stray console.log from a dependency');
      yield { type: 'text', message: { text: 'wrote to stdout' }, meta: null };
      return;
    case '__test_memory': {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const usage = process.memoryUsage();
      yield { type: 'json', message: { json_object: { gc: Boolean(gc), ...usage } }, meta: null };
      return;
    }
    default:
      throw new PluginError('ToolNotFoundError', `unknown test tool ${request.tool}`);
  }
}

/** Wraps the app so `__test_*` tools are served by the fixture above. */
export function withTestHooks(app: PluginHandlers): PluginHandlers {
  return {
    invokeTool(request, context) {
      return request.tool.startsWith('__test_') ? testTool(request, context) : app.invokeTool(request, context);
    },
    async validateCredentials(request, context) {
      const verdict = request.credentials.__test_result;
      if (verdict === 'ok') return;
      if (verdict === 'fail') throw new PluginError(CREDENTIAL_VALIDATION_ERROR, 'test credentials rejected');
      return app.validateCredentials(request, context);
    },
    close: () => app.close(),
  };
}
