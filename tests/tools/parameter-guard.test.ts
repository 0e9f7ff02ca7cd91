// The trust guard over every tool's parameters, from the real tools/*.yaml: each declared parameter is read (a valid
// value changes what the service is asked, or the settings it runs on), each is checked (a bad value answers ERROR
// naming it, and nothing is called), and a tool that deletes or overwrites refuses a parameter it does not declare
// instead of acting without it. A new parameter or tool fails here until it has its probes.
import { describe, expect, it } from 'vitest';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import { invoke, recordingServices } from './harness.js';
import { CREDENTIALS, UUID, VALID_CALLS as BASE } from './fixtures.js';

const TOOLS = loadDeclarations().tools;
const OTHER_UUID = '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716';
const SECRET = 'app-SECRET-value';

interface Probe {
  /** Valid, and not what the tool's base call (or the default) already uses. */
  valid: unknown;
  /** Refused with an ERROR naming the parameter. */
  invalid: unknown;
  /** Base parameters the valid value replaces (one source at a time for import_memories). */
  without?: string[];
}

const tooLong = (n: number) => 'x'.repeat(n + 1);
const ID: Probe = { valid: 'probe-id', invalid: tooLong(255) };

/** By parameter name, whichever tool declares it (the same name means the same rule everywhere). */
const PROBES: Record<string, Probe> = {
  user: { valid: 'I like coffee.', invalid: tooLong(100_000) },
  assistant: { valid: 'Noted.', invalid: tooLong(100_000) },
  user_id: ID,
  agent_id: ID,
  app_id: ID,
  run_id: ID,
  task_id: ID,
  memory_id: { valid: OTHER_UUID, invalid: 'mem-1' },
  job_id: { valid: UUID, invalid: 'job-1' },
  text: { valid: 'likes coffee', invalid: tooLong(10_000) },
  query: { valid: 'coffee', invalid: tooLong(10_000) },
  metadata: { valid: '{"topic": "probe"}', invalid: '{topic: probe}' },
  filters: { valid: '{"topic": "probe"}', invalid: '{topic: probe}' },
  infer: { valid: false, invalid: 'maybe' },
  dry_run: { valid: true, invalid: 'maybe' },
  include_history: { valid: true, invalid: 'maybe' },
  // Malformed text is lenient (the default, with a warning naming it); below the minimum is refused.
  timeout: { valid: 7, invalid: -1 },
  top_k: { valid: 9, invalid: 'many' },
  threshold: { valid: 0.4, invalid: 'high' },
  limit: { valid: 9, invalid: 'all' },
  offset: { valid: 3, invalid: 'next' },
  days_back: { valid: 3, invalid: 'week' },
  conversations_limit: { valid: 30, invalid: 'lots' },
  max_tokens_per_conversation: { valid: 10, invalid: 'big' },
  time_budget: { valid: 10, invalid: 'long' },
  user_ids: { valid: 'b, c', invalid: ',,,' },
  dify_base_url: { valid: 'https://other.example.com/v1', invalid: 'https://dify.example.com/api' },
  dify_api_key: { valid: 'app-OTHER-value', invalid: tooLong(4096) },
  llm_model: { valid: { provider: 'langgenius/openai/openai', model: 'gpt-4o', model_type: 'llm' }, invalid: 'gpt-4o' },
  rerank_model: { valid: { provider: 'langgenius/cohere/cohere', model: 'rerank-v3.5', model_type: 'rerank' }, invalid: 'rerank-v3.5' },
  file: { valid: { dify_model_identity: '__dify__file__', url: 'https://files.example.com/f.jsonl', filename: 'f.jsonl' }, invalid: 42, without: ['url'] },
  url: { valid: 'https://example.org/other.jsonl', invalid: 'ftp://example.org/memories.jsonl' },
};

/** The service methods that delete or overwrite memories. */
const DESTRUCTIVE = new Set(['update', 'delete', 'deleteAll', 'forget']);

async function call(tool: string, parameters: Record<string, unknown>) {
  const recorder = recordingServices();
  const answer = await invoke(tool, parameters, { services: recorder.factory }, CREDENTIALS, TOOLS);
  return { answer, calls: recorder.calls, settings: recorder.settings };
}

/** What reached the services: the calls (inputs and options) and the settings they ran on. */
function reached(result: Awaited<ReturnType<typeof call>>): string {
  return JSON.stringify({ calls: result.calls, settings: result.settings.map((s) => s.hash) });
}

function without(parameters: Record<string, unknown>, names: readonly string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parameters).filter(([name]) => !names.includes(name)));
}

it('every tool has a base call and every declared parameter a probe', () => {
  expect(TOOLS.map((t) => t.identity.name).filter((name) => !BASE[name])).toEqual([]);
  const declared = TOOLS.flatMap((t) => (t.parameters ?? []).map((p) => p.name));
  expect([...new Set(declared.filter((name) => !PROBES[name]))]).toEqual([]);
});

describe.each(TOOLS.map((t) => t.identity.name))('%s', (tool) => {
  const parameters = (TOOLS.find((t) => t.identity.name === tool)!.parameters ?? []).map((p) => p.name);

  it('its base call succeeds and reaches exactly one service method', async () => {
    const base = await call(tool, BASE[tool]!);
    expect(base.answer.status, base.answer.messages).toMatch(/^(SUCCESS|ACCEPTED)$/);
    expect(base.calls).toHaveLength(1);
  });

  it.each(parameters)('%s is read: a valid value changes what the service is asked', async (name) => {
    const probe = PROBES[name]!;
    const base = await call(tool, BASE[tool]!);
    const probed = await call(tool, { ...without(BASE[tool]!, probe.without), [name]: probe.valid });
    expect(probed.answer.status, probed.answer.messages).toMatch(/^(SUCCESS|ACCEPTED)$/);
    expect(probed.answer.warnings).toBeUndefined();
    expect(reached(probed)).not.toBe(reached(base));
  });

  it.each(parameters)('%s is checked: a bad value is refused naming it, and nothing is called', async (name) => {
    const { answer, calls } = await call(tool, { ...BASE[tool], [name]: PROBES[name]!.invalid });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages.startsWith(`${tool}: `)).toBe(true);
    expect(answer.messages).toContain(name);
    expect(calls).toEqual([]);
    expect(JSON.stringify(answer.raw)).not.toContain(SECRET.slice(4));
  });

  it('an undeclared parameter: refused by a tool that deletes or overwrites, else ignored with a warning naming it', async () => {
    const base = await call(tool, BASE[tool]!);
    const extra = await call(tool, { ...BASE[tool], not_a_parameter: 'x' });
    if (DESTRUCTIVE.has(base.calls[0]!.method)) {
      expect(extra.answer.status).toBe('ERROR');
      expect(extra.answer.messages).toBe(`${tool}: "not_a_parameter" is not a parameter of this tool; nothing was done`);
      expect(extra.calls).toEqual([]);
    } else {
      expect(extra.answer.status).toBe(base.answer.status);
      expect(extra.answer.warnings).toEqual(['"not_a_parameter" is not a parameter of this tool and was ignored']);
      expect(reached(extra)).toBe(reached(base));
    }
  });
});

describe('the mistakes a caller makes on a destructive tool are refused, not half-obeyed', () => {
  it.each([
    // Another tool's name for the app: ignoring it would forget the memories of every app of the user.
    ['forget_memories', { user_id: 'u', agent_id: 'app-1' }, 'agent_id'],
    // delete_memory deletes by id alone: a user_id would not guard another user's memory.
    ['delete_memory', { memory_id: UUID, user_id: 'u' }, 'user_id'],
    // The singular spelling: ignoring it would delete the whole scope instead of the matching memories.
    ['delete_all_memories', { user_id: 'u', filter: '{"topic": "food"}' }, 'filter'],
    // A misspelt dry run: ignoring it would delete for real.
    ['delete_all_memories', { user_id: 'u', dryrun: true }, 'dryrun'],
    ['forget_memories', { user_id: 'u', dryRun: true }, 'dryRun'],
    // update_memory replaces the text only: metadata would be quietly dropped.
    ['update_memory', { memory_id: UUID, text: 'likes coffee', metadata: '{"topic": "drinks"}' }, 'metadata'],
  ])('%s with %j: ERROR naming %s, nothing called', async (tool, parameters, name) => {
    const { answer, calls } = await call(tool, parameters);
    expect(answer).toMatchObject({ status: 'ERROR', messages: `${tool}: "${name}" is not a parameter of this tool; nothing was done` });
    expect(calls).toEqual([]);
  });

  it('a blank undeclared parameter is not a refusal: Dify sends null for one the node holds but the tool no longer declares', async () => {
    for (const blank of [null, '', '  ']) {
      const { answer, calls } = await call('delete_all_memories', { user_id: 'u', removed_in_an_upgrade: blank });
      expect(answer.status).toBe('SUCCESS');
      expect(answer.warnings).toEqual(['"removed_in_an_upgrade" is not a parameter of this tool and was ignored']);
      expect(calls).toHaveLength(1);
    }
  });

  it('several at once are all named', async () => {
    const { answer } = await call('delete_all_memories', { user_id: 'u', filter: '{}', dryrun: true });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toContain('"filter" is not a parameter');
    expect(answer.messages).toContain('"dryrun" is not a parameter');
  });
});
