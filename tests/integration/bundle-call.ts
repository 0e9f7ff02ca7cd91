/**
 * One tool call to the BUILT plugin over stdio as a workflow sees its answer: the JSON message, the text and the
 * variables. Fails with the end of the plugin's log when no answer comes.
 */
import { randomUUID } from 'node:crypto';
import { invokeFrame } from '../helpers/plugin-process.js';
import type { Frame, PluginProcess } from '../helpers/plugin-process.js';

export interface BundleAnswer { status: string; messages: string; results: unknown; relations?: unknown }
export interface SeenAnswer { json: BundleAnswer; text: string; variables: Record<string, unknown> }

export async function callBundle(proc: PluginProcess, creds: Record<string, unknown>, tool: string, parameters: Record<string, unknown>): Promise<SeenAnswer> {
  const id = `b-${tool}-${randomUUID().slice(0, 8)}`;
  const frame: Frame = invokeFrame(id, tool, { timeout: 60, ...parameters });
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
