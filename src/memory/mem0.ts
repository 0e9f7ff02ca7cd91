/**
 * The only door to the `mem0ai` package. Mem0 decides at module load whether to send telemetry (PostHog), from
 * `MEM0_TELEMETRY`; we set it to "false" here and load the package lazily afterwards, so no code path can load it
 * first. Nothing else in src/ may import `mem0ai` at runtime (type-only imports are erased and fine).
 * @module
 */
import type * as Mem0 from 'mem0ai/oss';

export type Mem0Module = typeof Mem0;

process.env.MEM0_TELEMETRY = 'false';

let loading: Promise<Mem0Module> | undefined;
let flagAtLoad: string | undefined;

/** Loads `mem0ai/oss` once, telemetry off. */
export function loadMem0(): Promise<Mem0Module> {
  if (!loading) {
    process.env.MEM0_TELEMETRY = 'false';
    flagAtLoad = process.env.MEM0_TELEMETRY;
    loading = import('mem0ai/oss');
  }
  return loading;
}

/** The value `MEM0_TELEMETRY` had when the package was loaded (undefined before the first load). */
export function telemetryFlagAtLoad(): string | undefined {
  return flagAtLoad;
}
