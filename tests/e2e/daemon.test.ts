// End to end through the real Dify plugin daemon, mode 1: REMOTE DEBUGGING. The daemon (built from the vendored
// source by scripts/dify-daemon.sh build) runs on loopback against the test PostgreSQL and a Redis of its own; our
// bundle (dist/plugin.js) connects to it over TCP with a debugging key, as `dify plugin` debugging does; the test then
// calls the daemon's HTTP API with Dify's headers and bodies and reads the SSE lines as Dify's API server does
// (tests/helpers/dify-daemon.ts). Modes 2 and 3 (packaged install, 50 concurrent calls): daemon-package.test.ts.
//
// In CI a daemon that cannot be built or started FAILS this file with the reason; elsewhere it skips with it.
// LLM and embedder are the loopback fake OpenAI; the vector store is a database of its own on the test server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { connectRemotePlugin, Daemon, PLUGIN_ID, PROVIDER, TOOL_NAMES, daemonUnavailable, fakeModelCredentials, pluginDatabase, whereDaemonMissing } from '../helpers/dify-daemon.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { ScriptedLlm } from '../jobs/extraction/orchestration-fixture.js';

const DIMS = 16;
const reason = daemonUnavailable();

describe.skipIf(reason !== undefined)('Dify plugin daemon: remote debugging', () => {
  const tenant = randomUUID();
  const userId = randomUUID();
  let daemon: Daemon | undefined;
  let plugin: { stop(): Promise<void> } | undefined;
  const openai = useFakeModel({ dims: DIMS, script: (model) => model.onChat(new ScriptedLlm().handler) });
  let database: { url: string; drop(): Promise<void> } | undefined;
  let credentials: Record<string, unknown> = {};

  beforeAll(async () => {
    daemon = await Daemon.start();
    // The plugin's own database on the test server.
    database = await pluginDatabase('e2e_plugin');

    credentials = {
      ...fakeModelCredentials(openai),
      local_vector_db_json_secret: JSON.stringify({
        provider: 'pgvector',
        config: { connection_string: database.url, collection_name: 'e2e_memories', embedding_model_dims: DIMS },
      }),
    };
    plugin = await connectRemotePlugin(daemon, tenant);
  }, 240_000);

  afterAll(async () => {
    await plugin?.stop();
    await daemon?.stop();
    await database?.drop();
  }, 120_000);

  it('lists the remotely connected plugin as <author>/<name> with every tool it declares', async () => {
    const entry = (await daemon!.listPlugins(tenant)).find((p) => p.plugin_id === PLUGIN_ID);
    const declaration = entry!.declaration as { author?: string; name?: string };
    expect(declaration.author).toBe('mem0-ts');
    expect(declaration.name).toBe('mem0ai');
    expect(await daemon!.toolNames(tenant)).toEqual({ provider: PROVIDER, tools: TOOL_NAMES });
  });

  it('validates working credentials through dispatch/tool/validate_credentials', async () => {
    const lines = await daemon!.dispatch(tenant, userId, 'validate_credentials', { provider: PROVIDER, credentials });
    expect(lines).toEqual([{ code: 0, message: 'success', data: { result: true } }]);
  });

  it('rejects broken credentials with an error line, not a success', async () => {
    const lines = await daemon!.dispatch(tenant, userId, 'validate_credentials', {
      provider: PROVIDER,
      credentials: { ...credentials, local_llm_json_secret: 'not json at all' },
    });
    expect(lines.some((l) => l.code === 0 && (l.data as { result?: boolean } | null)?.result === true)).toBe(false);
    const failure = lines.find((l) => l.code !== 0);
    expect(failure?.message).toContain('local_llm_json_secret');
    expect(failure?.message).not.toContain('not json at all'); // secrets are never echoed
  });

  it('adds, searches and lists a memory through dispatch/tool/invoke', async () => {
    const user = `e2e-${userId}`;
    const added = await daemon!.invoke(tenant, userId, 'add_memory', credentials, { user: 'I keep bees on my roof', user_id: user });
    expect(added.json.status).toBe('SUCCESS');
    const found = await daemon!.invoke(tenant, userId, 'search_memory', credentials, { query: 'bees roof', user_id: user });
    const results = found.json.results as Array<{ memory: string }>;
    expect(results.map((r) => r.memory)).toEqual(['I keep bees on my roof']);
    const all = await daemon!.invoke(tenant, userId, 'get_all_memories', credentials, { user_id: user });
    expect((all.json.results as unknown[]).length).toBe(1);
  });
});

// Where the daemon cannot run: in CI that is a failure with the reason, elsewhere a skip with it.
whereDaemonMissing('Dify plugin daemon: remote debugging', reason);

