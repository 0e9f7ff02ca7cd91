// Drives the plugin app the way the runtime does and collects what a tool answers.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app/app.js';
import type { PluginAppOptions } from '../../src/tools/index.js';
import type { ToolMessage } from '../../src/runtime/contract.js';
import type { Declarations, ToolDeclaration } from '../../src/runtime/declarations.js';
import { notBuiltServices } from '../../src/tools/not-built.js';
import type { MemoryServices } from '../../src/memory/api.js';
import type { Settings } from '../../src/memory/config/settings.js';
import { session } from '../helpers/session.js';
import { CREDENTIALS, FIXTURE_TOOLS } from './fixtures.js';

export interface Answer {
  status: string;
  messages: string;
  results: unknown;
  /** Present only when the answer has warnings. */
  warnings?: string[];
  text: string;
  variables: Record<string, unknown>;
  raw: ToolMessage[];
}

export function declarations(tools: ToolDeclaration[] = FIXTURE_TOOLS): Declarations {
  return { root: '/nowhere', manifest: {} as Declarations['manifest'], provider: {} as Declarations['provider'], tools };
}

export async function invoke(
  tool: string,
  parameters: Record<string, unknown>,
  options: Partial<PluginAppOptions> = {},
  credentials: Record<string, unknown> = CREDENTIALS,
  tools: ToolDeclaration[] = FIXTURE_TOOLS,
): Promise<Answer> {
  // The tool-layer tests never reach the engine: services default to this version's not-built ones.
  const app = createApp(declarations(tools), { language: () => undefined, services: notBuiltServices, ...options });
  const raw: ToolMessage[] = [];
  for await (const message of app.invokeTool({ provider: 'mem0ai', tool, toolParameters: parameters, credentials }, session())) raw.push(message);
  await app.close();
  const json = raw.find((message) => message.type === 'json');
  const text = raw.find((message) => message.type === 'text');
  const variables: Record<string, unknown> = {};
  for (const message of raw) if (message.type === 'variable') variables[message.message.variable_name] = message.message.variable_value;
  if (json?.type !== 'json' || text?.type !== 'text') throw new Error('a tool must answer with json and text messages');
  const body = json.message.json_object as { status: string; messages: string; results: unknown; warnings?: string[] };
  return { ...body, text: text.message.text, variables, raw };
}

/**
 * Fake services that record each call and answer like a working engine would. `settings` lists the settings each
 * call's services were asked for (a node's model picker changes them).
 */
export function recordingServices(): { calls: { method: string; input: unknown; options: unknown }[]; settings: Settings[]; factory: (settings?: Settings) => MemoryServices } {
  const calls: { method: string; input: unknown; options: unknown }[] = [];
  const asked: Settings[] = [];
  const record = <T>(method: string, answer: T) => (input: unknown, options?: unknown) => {
    calls.push({ method, input, options });
    return Promise.resolve(answer);
  };
  const memory = { id: '0b6f2a4e-3c1d-4e5f-8a9b-1c2d3e4f5a6b', memory: 'likes tea', metadata: {}, created_at: null, updated_at: null };
  const services: MemoryServices = {
    memories: {
      add: record('add', { results: [{ id: memory.id, memory: 'likes tea', event: 'ADD' as const }] }),
      search: record('search', { results: [{ ...memory, score: 0.91, vector_score: 0.91, keyword_score: 0, timestamp: null }], warnings: [] }),
      getAll: record('getAll', { results: [memory] }),
      get: record('get', memory),
      update: record('update', { id: memory.id, memory: 'likes green tea', event: 'UPDATE' as const }),
      delete: record('delete', { id: memory.id, memory: 'likes tea', event: 'DELETE' as const }),
      deleteAll: record('deleteAll', { deleted_count: 3 }),
      history: record('history', { results: [] }),
      jobStatus: record('jobStatus', {
        job_id: '0b6f2a4e-3c1d-4e5f-8a9b-1c2d3e4f5a6c', kind: 'add', state: 'completed' as const, attempts: 1, max_attempts: 11, next_retry_at: null, last_error: null,
        memory_ids: { added: [memory.id], updated: [], deleted: [] }, created_at: '2026-01-01T00:00:00.000Z', started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:01.000Z',
      }),
    },
    extraction: {
      start: record('start', { task_id: 'extract_0123456789ab' }),
      status: record('status', { task_status: 'running', progress: 0.5 }),
      checkpoint: record('checkpoint', { checkpoint: {}, conversations_count: 2 }),
    },
    forgetting: { forget: record('forget', { deleted_count: 1, retained_count: 4, checkpoints_cleaned: 0, dry_run: true }) },
    transfer: {
      // The tool sends the file and deletes it: each export writes its own.
      exportFile: async (input, signal) => {
        const path = join(await mkdtemp(join(tmpdir(), 'export-')), 'memories.jsonl');
        const line = `${JSON.stringify(memory)}\n`;
        await writeFile(path, line);
        return record('exportFile', { path, bytes: Buffer.byteLength(line), count: 1, truncated: false, nextOffset: null })(input, signal);
      },
      importUrl: record('importUrl', { inserted: 1, skipped: 0, failed: 0, failures: [] }),
    },
    close: () => Promise.resolve(),
  };
  return {
    calls,
    settings: asked,
    factory: (settings) => {
      if (settings) asked.push(settings);
      return services;
    },
  };
}
