import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import { createApp } from '../../src/app/app.js';
import { bindTools, TOOL_DEFINITIONS } from '../../src/tools/registry.js';
import { defineTool } from '../../src/tools/schemas.js';
import type { ToolDefinition } from '../../src/tools/schemas.js';
import { session } from '../helpers/session.js';
import { FIXTURE_TOOLS, param, tool } from './fixtures.js';
import { declarations } from './harness.js';

describe('bindTools', () => {
  it('binds every handler to its declaration', () => {
    const bound = bindTools(FIXTURE_TOOLS);
    expect([...bound.keys()]).toEqual(FIXTURE_TOOLS.map((declaration) => declaration.identity.name));
    expect(bound.size).toBe(TOOL_DEFINITIONS.length);
  });

  it('refuses a declared tool without a handler', () => {
    expect(() => bindTools([...FIXTURE_TOOLS, tool('summarize_memories', [])])).toThrow('tool "summarize_memories" is declared but has no handler module');
  });

  it('refuses a handler without a declaration', () => {
    const withoutSearch = FIXTURE_TOOLS.filter((declaration) => declaration.identity.name !== 'search_memory');
    expect(() => bindTools(withoutSearch)).toThrow('handler "search_memory" has no tool declaration');
  });

  it('refuses parameters present on one side only, naming both', () => {
    const renamed = FIXTURE_TOOLS.map((declaration) =>
      declaration.identity.name === 'get_memory' ? tool('get_memory', [param('id', 'string'), param('run_id', 'string'), param('timeout', 'number')]) : declaration,
    );
    expect(() => bindTools(renamed)).toThrow(/tool "get_memory": parameter "id" is declared but the handler does not take it; tool "get_memory": the handler takes parameter "memory_id" which is not declared/);
  });

  it('refuses a tool declared twice', () => {
    expect(() => bindTools([...FIXTURE_TOOLS, FIXTURE_TOOLS[0]!])).toThrow('tool "add_memory" is declared twice');
  });

  it('the app refuses to start on a mismatch', () => {
    const extra = defineTool({ name: 'ping', schema: z.object({}), emptyResults: () => ({}), run: async () => ({ status: 'SUCCESS', results: {}, message: { key: 'x' } }) });
    expect(() => createApp(declarations(), { definitions: [...TOOL_DEFINITIONS, extra as unknown as ToolDefinition] })).toThrow('handler "ping" has no tool declaration');
  });

  it('an unknown tool at run time is a protocol error, not a tool answer', async () => {
    const app = createApp(declarations());
    const run = async () => {
      for await (const _ of app.invokeTool({ provider: 'mem0ai', tool: 'nope', toolParameters: {}, credentials: {} }, session())) void _;
    };
    await expect(run()).rejects.toMatchObject({ errorType: 'PluginInvokeError', message: expect.stringContaining('unknown tool "nope"') });
  });
});

describe('the real declarations (tools/*.yaml)', () => {
  const real = loadDeclarations();

  it('bind to all 15 handlers', () => {
    const bound = bindTools(real.tools);
    expect([...bound.keys()].sort()).toEqual(TOOL_DEFINITIONS.map((definition) => definition.name).sort());
    expect(bound.size).toBe(15);
  });

  it('start the app', () => {
    expect(() => createApp(real)).not.toThrow();
  });
});

describe('empty results match the declared output schema', () => {
  const real = loadDeclarations();
  it.each(real.tools.map((declaration) => declaration.identity.name))('%s', (name) => {
    const declaration = real.tools.find((candidate) => candidate.identity.name === name)!;
    const declared = (declaration.output_schema as { properties?: { results?: { type?: string } } } | undefined)?.properties?.results?.type;
    const definition = TOOL_DEFINITIONS.find((candidate) => candidate.name === name)!;
    expect(Array.isArray(definition.emptyResults()) ? 'array' : 'object').toBe(declared);
  });
});
