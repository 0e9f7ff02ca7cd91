// The command line a person uses (`npm run try -- …`, `npm run demo`, the `mem0ai-dify` bin), spawned from the built
// bundle in a fresh folder as a person would run it, and the greeting `npm start` prints in a terminal.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { BUNDLE, ensureBundle } from '../helpers/plugin-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];

async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mem0-cli-'));
  dirs.push(dir);
  return dir;
}

/** Runs `node dist/plugin.js …args` in `cwd` with a plain environment and no terminal. */
function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** stderr lines that are neither our notes for the person nor the logger's JSON lines. */
function strayStderr(stderr: string): string[] {
  const notes = /^(model: |storage: |settings: )/;
  return stderr.split('\n').filter((line) => line.trim() && !notes.test(line) && !line.startsWith('{"level":'));
}

beforeAll(() => ensureBundle(), 180_000);
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('npm run demo (offline demo model, embedded database)', () => {
  it('adds, searches, lists and deletes on a fresh folder, and says the model is a fake', async () => {
    const cwd = await freshFolder();
    // Node 20 only warns about `punycode` (and `url.parse`) with --pending-deprecation; newer Node always does.
    const run = await cli(cwd, ['demo'], { NODE_OPTIONS: '--pending-deprecation' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('OFFLINE DEMO');
    expect(run.stderr).toContain('not a language model');
    expect(run.stderr).toContain('./data/pglite-demo');
    const steps = run.stdout.split('\n$ ').slice(1);
    expect(steps.map((step) => step.split(' ')[4])).toEqual(['add_memory', 'search_memory', 'get_all_memories', 'delete_memory', 'get_all_memories']);
    expect(steps[0]).toContain('memory changes saved: 3');
    expect(steps[0]).toContain('ADD I drink green tea every morning.');
    // The first search hit is the memory sharing most words with the query, and it is the one deleted.
    expect(steps[1]).toMatch(/\n1\. I drink green tea every morning\./);
    expect(steps[2]).toContain('memories listed: 3');
    expect(steps[3]).toContain('deleted');
    expect(steps[4]).toContain('memories listed: 2');
    expect(steps[4]).not.toContain('green tea');
    // Nothing but our notes and structured log lines on stderr: no deprecation warning, no plain console lines.
    expect(run.stderr).not.toContain('DeprecationWarning');
    expect(run.stderr).not.toContain('punycode');
    expect(strayStderr(run.stderr)).toEqual([]);
  }, 180_000);
});

describe('npm run try -- <tool> (settings file, real HTTP model server)', () => {
  const model = useFakeModel({ dims: 1536 });

  it('runs add_memory and search_memory through the configured model and prints the JSON answer', async () => {
    const cwd = await freshFolder();
    const block = (name: string) => `  provider: openai\n  config:\n    model: ${name}\n    api_key: sk-cli-test\n    openai_base_url: ${model.baseURL}\n`;
    await writeFile(path.join(cwd, 'settings.yaml'), `local_llm_json_secret:\n${block('gpt-test')}local_embedder_json_secret:\n${block('embed-test')}`);
    // Nothing is stored yet, so the fact is added without a reconciliation call.
    model.reply(JSON.stringify({ facts: ['Prefers window seats on flights'] }));

    const added = await cli(cwd, ['try', 'add_memory', '--user_id', 'alice', '--user', 'Book me a window seat, always.', '--config', 'settings.yaml', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const answer = JSON.parse(added.stdout) as { status: string; results: Array<{ memory?: string; event?: string }> };
    expect(answer.status).toBe('SUCCESS');
    expect(answer.results).toEqual([expect.objectContaining({ memory: 'Prefers window seats on flights', event: 'ADD' })]);
    expect(model.chatCalls()).toHaveLength(1);
    expect(JSON.stringify(model.chatCalls()[0]?.messages)).toContain('Book me a window seat, always.');
    expect(added.stderr).not.toContain('OFFLINE DEMO');
    expect(added.stderr).not.toContain('sk-cli-test');
    expect(strayStderr(added.stderr)).toEqual([]);

    // mem0ai-dify.yaml is read without --config; the same embedded database (./data/pglite) holds the memory.
    await writeFile(path.join(cwd, 'mem0ai-dify.yaml'), `local_llm_json_secret:\n${block('gpt-test')}local_embedder_json_secret:\n${block('embed-test')}`);
    const found = await cli(cwd, ['search_memory', '--user_id', 'alice', '--query', 'window seat']);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain('1. Prefers window seats on flights');
  }, 180_000);

  it('reads the same settings from a .env file', async () => {
    const cwd = await freshFolder();
    const block = (name: string) => JSON.stringify({ provider: 'openai', config: { model: name, api_key: 'sk-x', openai_base_url: model.baseURL } });
    await writeFile(path.join(cwd, '.env'), `LOCAL_LLM_JSON_SECRET='${block('gpt-test')}'\nlocal_embedder_json_secret='${block('embed-test')}'\nINSTALL_METHOD=local\n`);
    const listed = await cli(cwd, ['get_all_memories', '--user_id', 'nobody', '--config', '.env', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ status: 'SUCCESS', results: [] });
  }, 120_000);
});

describe('command-line mistakes', () => {
  it('names the missing or unknown parameter and exits 2; without a model it points at --config and --demo', async () => {
    const cwd = await freshFolder();
    const missing = await cli(cwd, ['search_memory', '--user_id', 'alice', '--demo']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('search_memory needs --query');

    const unknown = await cli(cwd, ['search_memory', '--user_id', 'alice', '--query', 'x', '--colour', 'red', '--demo']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('search_memory has no parameter "colour"');
    expect(unknown.stderr).toContain('--top_k');

    const noModel = await cli(cwd, ['get_all_memories', '--user_id', 'alice']);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('no model configured');
    expect(noModel.stderr).toContain('--demo');

    const unknownTool = await cli(cwd, ['remember_everything']);
    expect(unknownTool.code).toBe(2);
    expect(unknownTool.stderr).toContain('unknown tool "remember_everything"');

    const help = await cli(cwd, ['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('search_memory');
    expect(help.stdout).toContain('--demo');
  }, 120_000);
});

const hasScript = spawnSync('script', ['--version']).status === 0;

describe('npm start in a terminal', () => {
  it.skipIf(!hasScript)('explains itself on a terminal (script(1) gives it one) and says nothing of the kind on a pipe', async () => {
    const cwd = await freshFolder();
    const tty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BUNDLE)}`, '/dev/null'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd },
      input: '',
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(tty.stdout).toContain('speaks the Dify plugin protocol');
    expect(tty.stdout).toContain('npm run demo');
    expect(tty.stdout).toContain('npm run try -- help');

    const piped = spawnSync(process.execPath, [BUNDLE], { cwd, env: { PATH: process.env.PATH, HOME: cwd }, input: '', encoding: 'utf8', timeout: 60_000 });
    expect(piped.status).toBe(0);
    expect(piped.stderr).not.toContain('npm run demo');
    expect(piped.stdout.trim().split('\n').every((line) => line.startsWith('{"event"'))).toBe(true);
  }, 120_000);
});
