/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with jitter so many plugins restarted together do
 * not knock on the daemon in lockstep.
 * @module
 */

/** Delay before reconnect attempt `attempt` (0-based): uniformly in [d/2, d] with d = min(max, base·2^attempt). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
