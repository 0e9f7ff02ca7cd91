// This version has no memory engine: every tool must validate its parameters for real and then answer an honest
// ERROR, never a pretend success.
import { describe, expect, it } from 'vitest';
import { invoke } from './harness.js';
import { VALID_CALLS as VALID } from './fixtures.js';

const FEATURE: Record<string, RegExp> = {
  extract_long_term_memory: /long-term memory extraction is not available in this version yet/,
  check_extraction_status: /long-term memory extraction is not available in this version yet/,
  get_user_checkpoint: /extraction checkpoints are not available in this version yet/,
  forget_memories: /forgetting is not available in this version yet/,
  export_memories: /export and import are not available in this version yet/,
  import_memories: /export and import are not available in this version yet/,
};

describe.each(Object.keys(VALID))('%s in this version', (tool) => {
  it('answers ERROR saying the operation is not built yet', async () => {
    const answer = await invoke(tool, VALID[tool]!);
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(new RegExp(`^${tool}: `));
    expect(answer.messages).toMatch(FEATURE[tool] ?? /memory storage is not available in this version yet/);
    expect(answer.variables).toEqual({ status: 'ERROR', messages: answer.messages, results: answer.results });
    expect(answer.text).toBe(answer.messages);
  });

  it('still rejects bad parameters first, naming them', async () => {
    const answer = await invoke(tool, {});
    expect(answer.status).toBe('ERROR');
    // import_memories needs one of two parameters (file or url), so its message names both.
    expect(answer.messages).toMatch(tool === 'import_memories' ? /\(file\).*\(url\)/ : /is required/);
    expect(answer.messages).not.toMatch(/not available/);
  });
});

it('add_memory answers in Chinese when the request is in Chinese', async () => {
  const answer = await invoke('add_memory', { user: '我喜欢意大利菜', user_id: 'alex' });
  expect(answer).toMatchObject({ status: 'ERROR', messages: 'add_memory：当前版本尚未提供记忆存储功能' });
});
