import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PluginError, CREDENTIAL_VALIDATION_ERROR } from '../../src/runtime/contract.js';
import { EngineError, notFound, overloaded } from '../../src/shared/errors.js';
import { NotBuiltError, TimeoutError, ValidationError } from '../../src/tools/errors.js';
import { buildMessages, outcomeFromError, wireError } from '../../src/tools/result.js';

describe('outcomeFromError: the one error → status mapping', () => {
  it.each([
    [new ValidationError([{ key: 'param.required', params: { name: 'user_id' } }]), 'ERROR', 'user_id is required'],
    [notFound('memory', 'abc'), 'NOT_FOUND', 'no memory with id abc'],
    [notFound('task', 'extract_1'), 'NOT_FOUND', 'no extraction task with id extract_1'],
    [new TimeoutError(15), 'TIMEOUT', 'did not finish within 15 s'],
    [overloaded(41, 40), 'OVERLOAD', 'too busy (41 operations pending, limit 40); nothing was queued, try again later'],
    [new NotBuiltError('memory'), 'ERROR', 'memory storage is not available in this version yet'],
    [new EngineError('credentials', 'local_llm_json_secret is required', { field: 'local_llm_json_secret' }), 'ERROR', "the plugin's credentials are invalid: local_llm_json_secret is required"],
    [new EngineError('validation', 'unknown operator "$near" in filters.city'), 'ERROR', 'invalid request: unknown operator "$near" in filters.city'],
    [new EngineError('unavailable', 'database unreachable'), 'ERROR', 'memory storage failed: database unreachable'],
    [new EngineError('store_config', 'vector store qdrant needs package @qdrant/js-client-rest which this build does not include'), 'ERROR', 'memory storage failed: vector store qdrant needs package @qdrant/js-client-rest which this build does not include'],
    [new EngineError('invalid_params', 'the base URL is not http(s)', { field: 'dify' }), 'ERROR', 'dify is invalid: the base URL is not http(s)'],
    [new EngineError('invalid_params', 'metadata must be an object'), 'ERROR', 'invalid request: metadata must be an object'],
    [new EngineError('not_found', 'memory 1 does not exist'), 'NOT_FOUND', 'memory 1 does not exist'],
    [new EngineError('timeout', 'embedder took longer than 15 s'), 'TIMEOUT', 'timed out: embedder took longer than 15 s'],
    [new EngineError('upstream', 'openai answered 401', { status: 401 }), 'ERROR', 'memory engine failed: openai answered 401'],
  ])('%s → %s', (error, status, message) => {
    const outcome = outcomeFromError(error, []);
    expect(outcome.status).toBe(status);
    const [json] = buildMessages('t', outcome, 'en_US');
    expect(json).toMatchObject({ message: { json_object: { status, messages: `t: ${message}`, results: [] } } });
  });

  it('says what an unexpected error was, without the secrets its message may hold, and logs it', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const outcome = outcomeFromError(new Error('connect postgres://admin:hunter2@db failed'), {}, logger);
    const rendered = JSON.stringify(buildMessages('get_memory', outcome, 'en_US'));
    expect(outcome.status).toBe('ERROR');
    expect(rendered).toContain('get_memory: internal error: Error: connect postgres://[secret]@db failed (more in the plugin log)');
    expect(rendered).not.toContain('hunter2');
    expect(lines.join('')).toContain('tool failed with an unexpected error');
  });

  it('joins several parameter issues into one message', () => {
    const error = new ValidationError([
      { key: 'param.required', params: { name: 'user_id' } },
      { key: 'param.not_number', params: { name: 'top_k', value: '"abc"' } },
    ]);
    const [json] = buildMessages('search_memory', outcomeFromError(error, []), 'en_US');
    expect(json).toMatchObject({ message: { json_object: { messages: 'search_memory: user_id is required; top_k must be a number, got "abc"' } } });
    const [zh] = buildMessages('search_memory', outcomeFromError(error, []), 'zh_Hans');
    expect(zh).toMatchObject({ message: { json_object: { messages: 'search_memory：缺少必填参数 user_id；top_k 必须是数字，收到的是 "abc"' } } });
  });
});

describe('wireError: what the daemon is told when credentials fail', () => {
  it('turns the engine\'s credentials error into the daemon\'s credential error naming the field', () => {
    const error = wireError(new EngineError('credentials', 'local_llm_json_secret is required', { field: 'local_llm_json_secret' }));
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ errorType: CREDENTIAL_VALIDATION_ERROR, message: 'local_llm_json_secret is required', args: { field: 'local_llm_json_secret' } });
    const other = new Error('boom');
    expect(wireError(other)).toBe(other);
  });
});

describe('buildMessages', () => {
  it('answers json, text and three variables with the same values', () => {
    const messages = buildMessages('search_memory', { status: 'SUCCESS', results: [{ id: '1' }], message: { key: 'ok.search_memory', params: { count: 1 } }, details: ['1. likes tea (0.91)'] }, 'en_US');
    expect(messages).toEqual([
      { type: 'json', message: { json_object: { status: 'SUCCESS', messages: 'search_memory: memories found: 1', results: [{ id: '1' }] } }, meta: null },
      { type: 'text', message: { text: 'search_memory: memories found: 1\n1. likes tea (0.91)' }, meta: null },
      { type: 'variable', message: { variable_name: 'status', variable_value: 'SUCCESS', stream: false }, meta: null },
      { type: 'variable', message: { variable_name: 'messages', variable_value: 'search_memory: memories found: 1', stream: false }, meta: null },
      { type: 'variable', message: { variable_name: 'results', variable_value: [{ id: '1' }], stream: false }, meta: null },
    ]);
  });

  it('renders in the chosen language', () => {
    const outcome = outcomeFromError(new NotBuiltError('forgetting'), {});
    expect(buildMessages('forget_memories', outcome, 'ja_JP')[1]).toMatchObject({ message: { text: 'forget_memories：このバージョンでは記憶の忘却機能はまだ利用できません' } });
    expect(buildMessages('forget_memories', outcome, 'pt_BR')[1]).toMatchObject({ message: { text: 'forget_memories: o esquecimento de memórias ainda não está disponível nesta versão' } });
  });
});
