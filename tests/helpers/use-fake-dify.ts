// The fake Dify Service API as a describe block's (or a file's) fixture, like use-fake-model.ts: kept apart from
// fake-dify.ts, which a benchmark loads outside vitest.
import { afterAll, beforeAll } from 'vitest';
import { FakeDify } from './fake-dify.js';

/**
 * One fake Dify for the enclosing describe block (or the file, at top level), listening before the block's own hooks
 * run (call it before them) and closed after them. Apps and conversations may be added at once or in any hook.
 */
export function useFakeDify(): FakeDify {
  const dify = FakeDify.unstarted();
  beforeAll(() => dify.listen());
  afterAll(() => dify.close());
  return dify;
}
