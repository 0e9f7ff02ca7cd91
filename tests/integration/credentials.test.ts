// validate_tool_credentials through the app: a real round trip (database reachable, pgvector present, the embedder
// answers with the configured dimension), no LLM tokens, failures naming the field, never echoing a secret.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { verifyCredentials } from '../../src/memory/credential-check.js';
import { openEmbeddedDatabases } from '../../src/memory/embedded-databases.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { AppDriver, credentials, DB_PASSWORD, DIMS, EMBEDDER_KEY, LLM_KEY, pgliteFolder, plainModel, postgresBackend } from './app.js';
import { freePort } from '../helpers/ports.js';

const SECRETS = [LLM_KEY, EMBEDDER_KEY, DB_PASSWORD];

async function refusal(run: () => Promise<unknown>): Promise<{ errorType: string; message: string; args: Record<string, unknown> }> {
  const error = await run().then(
    () => {
      throw new Error('the check passed but should have failed');
    },
    (e: unknown) => e as { errorType: string; message: string; args: Record<string, unknown> },
  );
  for (const secret of SECRETS) expect(JSON.stringify({ m: error.message, a: error.args })).not.toContain(secret);
  return error;
}

/** A port nothing listens on (bound, then released). */

const pgvectorBlock = (port: number) => ({
  provider: 'pgvector',
  config: { host: '127.0.0.1', port, user: 'mem0', password: DB_PASSWORD, dbname: 'mem0', embedding_model_dims: DIMS },
});

describe('validateCredentials through the app', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel, resetEach: true });

  it('passes on embedded PGlite: one embedding, no LLM call', async () => {
    const driver = new AppDriver(credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }));
    try {
      await driver.validate();
      expect(fake.chatCalls()).toHaveLength(0);
      expect(fake.calls('/v1/embeddings')).toHaveLength(1);
    } finally {
      await driver.close();
    }
  });

  it('passes while the app already serves the same PGlite folder (the database is shared, not opened twice)', async () => {
    const store = { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } };
    const driver = new AppDriver(credentials(fake, store));
    try {
      await driver.ok('add_memory', { user: 'I like tea.', user_id: 'u' });
      // New credentials (another LLM key) for the same folder: Dify validates them while the old set is live.
      const edited = credentials(fake, store, {
        local_llm_json_secret: JSON.stringify({ provider: 'openai', config: { api_key: `${LLM_KEY}-2`, openai_base_url: fake.baseURL } }),
      });
      await driver.validate(edited);
      expect(openEmbeddedDatabases()).toBe(1);
      expect(await driver.call('search_memory', { query: 'tea', user_id: 'u' }, undefined, edited)).toMatchObject({ status: 'SUCCESS', results: [{ memory: 'I like tea.' }] });
    } finally {
      await driver.close();
    }
    expect(openEmbeddedDatabases()).toBe(0);
  });

  it('database unreachable: names the vector DB field, host and port, and the reason', async () => {
    const port = await freePort();
    const driver = new AppDriver(credentials(fake, pgvectorBlock(port)));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.errorType).toBe('ToolProviderCredentialValidationError');
      expect(error.message).toBe(`local_vector_db_json_secret: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
      expect(error.args).toEqual({ field: 'local_vector_db_json_secret' });
    } finally {
      await driver.close();
    }
  });

  it('the embedder answers with another dimension than the store expects', async () => {
    const wide = await FakeOpenAI.start({ dims: 768 });
    const creds = credentials(wide, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }, {
      // No embedding_dims: the dimension is only learned from the embedder's answer.
      local_embedder_json_secret: JSON.stringify({ provider: 'openai', config: { api_key: EMBEDDER_KEY, openai_base_url: wide.baseURL } }),
    });
    const driver = new AppDriver(creds);
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toBe(`local_embedder_json_secret: the embedder returned 768 dimensions but the vector store expects ${DIMS} (embedding_model_dims)`);
      expect(wide.chatCalls()).toHaveLength(0);
    } finally {
      await driver.close();
      await wide.close();
    }
  });

  it('the embedder refuses the key (HTTP 401)', async () => {
    fake.fail({ path: '/v1/embeddings', status: 401 });
    const driver = new AppDriver(credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toBe('local_embedder_json_secret: the embedder (openai) refused the API key (HTTP 401); check api_key');
      expect(fake.chatCalls()).toHaveLength(0);
    } finally {
      await driver.close();
    }
  });

  it('a provider this build cannot run is refused naming the field, the reason and what is supported', async () => {
    const creds = credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } });
    const driver = new AppDriver({ ...creds, local_llm_json_secret: JSON.stringify({ provider: 'langchain', config: { model: 'x' } }) });
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toMatch(/^local_llm_json_secret\.provider "langchain" cannot run in this build: it needs a LangChain model object.*; supported llm providers: openai, .*anthropic.*deepseek/);
      expect(error.args).toMatchObject({ field: 'local_llm_json_secret' });
      expect(fake.requests).toEqual([]);
    } finally {
      await driver.close();
    }
  });

  it('a database that accepts connections but never answers: the check gives up within its timeout', async () => {
    const sockets: Socket[] = [];
    const blackHole: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as AddressInfo;
    const driver = new AppDriver(credentials(fake, pgvectorBlock(port)), {
      checkCredentials: (settings, signal) => verifyCredentials(settings, { signal, timeoutMs: 1500 }),
    });
    try {
      // The black hole never answers (its sockets stay open until cleanup): any answer is the check's own timeout.
      const error = await refusal(() => driver.validate());
      expect(sockets.length).toBeGreaterThan(0); // the check did reach the database, and is not failing earlier
      expect(error.message).toBe(`the credential check did not finish within 2 s: the database (127.0.0.1:${port}) or the embedder is not answering`);
    } finally {
      await driver.close();
      for (const socket of sockets) socket.destroy();
      blackHole.close();
    }
  });

  it('malformed credentials are refused before any round trip', async () => {
    const driver = new AppDriver({ local_llm_json_secret: '{"provider": "openai"', local_embedder_json_secret: '{}' });
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toMatch(/^local_llm_json_secret: not valid JSON/);
      expect(fake.requests).toHaveLength(0);
    } finally {
      await driver.close();
    }
  });

  const url = testDatabaseUrl();
  describe.skipIf(!url)('on PostgreSQL', () => {
    it('passes, reporting nothing but success; a wrong database name is named', async () => {
      const backend = postgresBackend(url!);
      const store = await backend.store();
      const driver = new AppDriver(credentials(fake, store));
      try {
        await driver.validate();
        expect(fake.chatCalls()).toHaveLength(0);
        const parsed = new URL(url!);
        parsed.pathname = '/no_such_db_here';
        const wrong = { ...store, config: { ...(store.config as object), connection_string: parsed.toString() } };
        const error = await refusal(() => driver.validate(credentials(fake, wrong)));
        expect(error.message).toBe('local_vector_db_json_secret: the database refused: the database does not exist; check dbname (SQLSTATE 3D000)');
        expect(error.message).not.toContain(parsed.password);
      } finally {
        await driver.close();
        await backend.cleanup();
      }
    });
  });
});
