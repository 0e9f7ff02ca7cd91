/**
 * The background half of the graph outbox (memory/graph/outbox.ts): every few seconds, graph changes that their
 * writer could not hand to the graph store (it did not answer, or the process died after the SQL commit) are written,
 * oldest first per user. Runs only where the graph is kept apart from the memories (Neo4j, or beside a mem0ai store).
 * @module
 */
import type { Logger } from 'pino';
import type { GraphOutbox } from '../../memory/graph/outbox.js';

export interface GraphOutboxDrain {
  /** Stops the timer and waits for a drain under way. */
  stop(): Promise<void>;
}

export function startGraphOutboxDrain(outbox: GraphOutbox, options: { intervalMs: number; logger?: Logger | undefined }): GraphOutboxDrain {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    running = outbox.drainDue().then(
      (written) => {
        if (written > 0) options.logger?.info({ written }, 'graph changes that had waited were written to the graph store');
      },
      (error: unknown) => options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'graph outbox drain failed; trying again'),
    ).finally(() => {
      if (!stopped) schedule();
    });
  };
  const schedule = (): void => {
    timer = setTimeout(tick, options.intervalMs);
    timer.unref();
  };
  // A restarted process first writes what its predecessor left.
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
