// The fake OpenAI server as a describe block's (or a file's) fixture: started, scripted, reset and closed by vitest
// hooks. Kept apart from fake-openai.ts, which benchmarks load outside vitest.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FakeOpenAI } from './fake-openai.js';

/** Sets how a fake answers chat calls (e.g. `plainModel`, `graphModel`, or a test's own `onChat`). */
export type ModelScript = (fake: FakeOpenAI) => void;

/**
 * One fake for the enclosing describe block (or the file, at top level). Call it before the block's own hooks: vitest
 * runs before-hooks in order and after-hooks in reverse, so the fake listens before those hooks run and closes after.
 * `script` sets the chat answers once; with `resetEach` the fake forgets the last test's requests, queued replies and
 * failures before every test and is scripted again.
 */
export function useFakeModel(options: { dims?: number; script?: ModelScript; resetEach?: boolean } = {}): FakeOpenAI {
  const fake = FakeOpenAI.unstarted(options);
  beforeAll(async () => {
    await fake.listen();
    options.script?.(fake);
  });
  afterAll(() => fake.close());
  if (options.resetEach) {
    beforeEach(() => {
      fake.reset();
      options.script?.(fake);
    });
  }
  return fake;
}
