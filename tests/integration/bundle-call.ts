/**
 * One tool call to the BUILT plugin over stdio as a workflow sees its answer: the JSON message, the text and the
 * variables. Fails with the end of the plugin's log when no answer comes.
 */
import { randomUUID } from 'node:crypto';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import { invokeFrame } from '../helpers/plugin-process.js';
import type { Frame, PluginProcess } from '../helpers/plugin-process.js';

export interface BundleAnswer { status: string; messages: string; results: unknown; relations?: unknown }
export interface SeenAnswer { json: BundleAnswer; text: string; variables: Record<string, unknown> }

/** The tools that take a `timeout` (a tool that deletes refuses a parameter it does not declare). */
const TIMED = new Set(loadDeclarations().tools.filter((t) => t.parameters?.some((p) => p.name === 'timeout')).map((t) => t.identity.name));

export async function callBundle(proc: PluginProcess, creds: Record<string, unknown>, tool: string, parameters: Record<string, unknown>): Promise<SeenAnswer> {
  const id = `b-${tool}-${randomUUID().slice(0, 8)}`;
  // A loaded machine's first call opens the store: 60 s instead of the default 15 where the tool takes a timeout.
  const frame: Frame = invokeFrame(id, tool, TIMED.has(tool) ? { timeout: 60, ...parameters } : parameters);
  (frame.data as Record<string, unknown>).credentials = creds;
  proc.send(frame);
  const session = await proc.frames.session(id, 90_000).catch((error: Error) => {
    throw new Error(`${error.message}; plugin log: ${proc.stderr.slice(-1500)}`);
  });
  type Stream = { type?: string; message?: { json_object?: BundleAnswer; text?: string; variable_name?: string; variable_value?: unknown } };
  const streams = session.streams as Stream[];
  const json = streams.find((s) => s.type === 'json')?.message?.json_object;
  if (!json) throw new Error(`${tool} answered no json: ${JSON.stringify(session.error ?? session.streams).slice(0, 300)}`);
  const text = streams.find((s) => s.type === 'text')?.message?.text ?? '';
  const variables = Object.fromEntries(streams.filter((s) => s.type === 'variable').map((s) => [s.message!.variable_name!, s.message!.variable_value]));
  return { json, text, variables };
}
