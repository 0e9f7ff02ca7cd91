// The credential check of a mem0ai vector store names the part at fault (the store, or its state database under
// `local_vector_db_json_secret.state_store`) and never echoes a secret. mem0ai's real "memory" store (SQLite);
// PostgreSQL state stores on a loopback port nobody listens on, or the test database with a wrong password.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyCredentials } from '../../../src/memory/credential-check.js';
import { parseCredentials } from '../../../src/memory/config/credentials.js';
import { secretsOf, storeFailure } from '../../../src/memory/external/stores.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { credentials, DIMS, plainModel } from '../../integration/app.js';
import { freePort } from '../../helpers/ports.js';

const SECRET = 'pw-SECRET-state-5151';


describe('credential check of an external vector store', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mem0-vs-cred-'));
  });

  const memoryStore = (stateStore: Record<string, unknown>): Record<string, unknown> => ({
    provider: 'memory',
    config: { db_path: path.join(dir, `${Math.random().toString(36).slice(2)}.db`), embedding_model_dims: DIMS },
    state_store: stateStore,
  });

  it('an unreachable state database is named as the state store, with its address and no secret', async () => {
    const port = await freePort();
    for (const config of [
      { host: '127.0.0.1', port, user: 'mem0', password: SECRET },
      { connection_string: `postgresql://mem0:${SECRET}@127.0.0.1:${port}/mem0` },
    ]) {
      const settings = parseCredentials(credentials(fake, memoryStore({ provider: 'pgvector', config })));
      const error = await verifyCredentials(settings, { timeoutMs: 10_000 }).then(() => null, (e: unknown) => e as Error);
      expect(error?.message).toMatch(new RegExp(`^local_vector_db_json_secret\\.state_store: cannot connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
      expect(error?.message).not.toContain(SECRET);
    }
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('a state database refusing the password is named as the state store', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.password = SECRET;
    const settings = parseCredentials(credentials(fake, memoryStore({ provider: 'pgvector', config: { connection_string: url.toString() } })));
    const error = await verifyCredentials(settings, { timeoutMs: 10_000 }).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/^local_vector_db_json_secret\.state_store: the database refused: password authentication failed/);
    expect(error?.message).not.toContain(SECRET);
  });

  it('a state store config error names its key', () => {
    expect(() => parseCredentials(credentials(fake, memoryStore({ provider: 'pgvector', config: { host: '127.0.0.1', port: 70000, password: SECRET } }))))
      .toThrow(/^local_vector_db_json_secret\.state_store\.config\.port /);
  });

  it('errors of the store never echo a secret of its block', () => {
    const config = {
      host: 'db.internal', user: 'scott', passwd: 'tiger-9q', dsn: 'scott/tiger-9q@db.internal:1521/ORCL',
      auth: { bearer: 'bearer-77x' }, headers: { Authorization: 'Basic c2VjcmV0' }, api_key: 'key-abcdef', url: 'https://u:p4ss@host',
    };
    const message = 'failed for scott/tiger-9q@db.internal:1521/ORCL with tiger-9q, bearer-77x, Basic c2VjcmV0, key-abcdef at https://u:p4ss@host';
    const error = storeFailure('oracledb', new Error(message), secretsOf(config));
    for (const secret of ['tiger-9q', 'bearer-77x', 'c2VjcmV0', 'key-abcdef', 'p4ss']) expect(error.message).not.toContain(secret);
    expect(error.message).toMatch(/^vector store oracledb failed: /);
  });
});
