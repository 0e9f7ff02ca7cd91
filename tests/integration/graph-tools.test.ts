/**
 * Graph memory through the tools (issue 12): the graph-store block (`local_graph_db_json_secret`) chosen once per
 * credential set, checked by credential validation, and used by add, search, get_all, delete_all and forget.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { freePort } from '../helpers/ports.js';
import { AppDriver, credentials, DIMS, plainModel } from './app.js';

const GRAPH_FIELD = 'local_graph_db_json_secret';
const NEO4J_PASSWORD = 'neo4j-SECRET-pw-5151';
const memoryStore = { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } };

async function refusal(run: () => Promise<unknown>): Promise<{ message: string; args: Record<string, unknown> }> {
  const error = await run().then(
    () => {
      throw new Error('the check passed but should have failed');
    },
    (e: unknown) => e as { message: string; args: Record<string, unknown> },
  );
  expect(JSON.stringify({ m: error.message, a: error.args })).not.toContain(NEO4J_PASSWORD);
  return error;
}

describe('the graph-store block in credential validation', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start({ dims: DIMS });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    plainModel(fake);
  });

  it('{} (the graph beside the memories) validates on embedded PGlite without an LLM call', async () => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{}' }));
    try {
      await driver.validate();
      expect(fake.chatCalls()).toHaveLength(0);
    } finally {
      await driver.close();
    }
  });

  it.each(['memgraph', 'neptune', 'kuzu'])('refuses the Mem0 graph store %s, naming what is supported', async (provider) => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: JSON.stringify({ provider, config: { url: 'bolt://127.0.0.1:7687' } }) }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toContain(`${GRAPH_FIELD}.provider "${provider}" is not supported`);
      expect(error.message).toContain('"postgres"');
      expect(error.message).toContain('"neo4j"');
      // The tools refuse the same block with the same words.
      const answer = await driver.call('search_memory', { query: 'tea', user_id: 'u' });
      expect(answer.status).toBe('ERROR');
      expect(answer.messages).toContain(`${GRAPH_FIELD}.provider "${provider}" is not supported`);
    } finally {
      await driver.close();
    }
  });

  it('a Neo4j nobody answers at fails validation on the graph field, never echoing the password', async () => {
    const port = await freePort();
    const block = { provider: 'neo4j', config: { url: `bolt://127.0.0.1:${port}`, username: 'neo4j', password: NEO4J_PASSWORD } };
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: JSON.stringify(block) }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toMatch(new RegExp(`^${GRAPH_FIELD}: graph store: Neo4j at the configured url did not answer`));
    } finally {
      await driver.close();
    }
  });

  it('a malformed block names the field and the key', async () => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{"provider": "neo4j", "config": {"url": "http://x"}}' }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toContain(`${GRAPH_FIELD}.config.url must be a bolt:// or neo4j:// URL`);
      const broken = await refusal(() => driver.validate(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{"provider": ' })));
      expect(broken.message).toContain(`${GRAPH_FIELD}: not valid JSON`);
    } finally {
      await driver.close();
    }
  });
});
