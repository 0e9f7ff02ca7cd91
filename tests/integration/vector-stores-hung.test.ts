// A mem0ai vector store that hangs (a loopback TCP server that accepts connections and never answers, standing in
// for a stuck Chroma) must not hang a tool call beyond its timeout: reads and sync writes answer TIMEOUT, and the
// credential check fails within its own bound, naming the vector store field. The store never answers, so an answer
// at all proves a deadline ended the call (no wall-clock bound needed).
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { AppDriver, credentials, DIMS, plainModel } from './app.js';

describe('a hung external vector store', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let server: net.Server;
  const sockets = new Set<net.Socket>();
  /** Connections the hung store accepted (it never answers one). */
  let accepted = 0;
  let driver: AppDriver;

  beforeAll(async () => {
    server = net.createServer((socket) => {
      accepted += 1;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const state = path.join(mkdtempSync(path.join(tmpdir(), 'mem0-hung-')), 'db');
    driver = new AppDriver(credentials(fake, {
      provider: 'chroma',
      config: { collection_name: 'hung', host: '127.0.0.1', port, ssl: false, embedding_model_dims: DIMS },
      state_store: { provider: 'pglite', config: { path: state } },
    }));
  });
  afterAll(async () => {
    await driver?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads and sync writes answer TIMEOUT within the call timeout', async () => {
    // Opens the engine (the embedded state database starts) with a call that needs only the state database.
    expect((await driver.call('get_user_checkpoint', { user_id: 'u', app_id: 'a' })).status).toBe('NOT_FOUND');
    for (const [tool, params] of [
      ['search_memory', { query: 'anything', user_id: 'u', timeout: 1 }],
      ['get_all_memories', { user_id: 'u', timeout: 1 }],
      ['get_memory', { memory_id: '0f8fad5b-d9cb-469f-a165-70867728950e', timeout: 1 }],
      ['add_memory', { user: 'I like tea.', user_id: 'u', timeout: 1 }],
      ['delete_all_memories', { user_id: 'u', timeout: 1 }],
    ] as const) {
      const answer = await driver.call(tool, params);
      expect(answer.status, `${tool}: ${answer.messages}`).toBe('TIMEOUT');
      expect(answer.messages, tool).toBe(`${tool}: timed out: the operation did not finish within 1 s`);
    }
    expect(accepted).toBeGreaterThan(0); // the calls did reach the hung store
  }, 30_000);

  it('the credential check fails in time and names the vector store', async () => {
    // The store never answers, so failing at all is the check's own timeout; a check without one fails this test.
    await expect(driver.validate()).rejects.toThrow(/^local_vector_db_json_secret: .*chroma/);
  }, 40_000);
});
