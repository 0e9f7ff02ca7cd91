/**
 * Keep-alive for one credential set: every `heartbeat_interval` seconds (min 30, default 120) it checks the
 * database pool (a dead pooled connection is dropped and the check retried on a fresh one), the embedder and the
 * LLM endpoint WITHOUT spending tokens:
 * - a provider that answered a real call since the last tick is up (cached last success; no request at all);
 * - otherwise an OpenAI-compatible endpoint is asked for its model list (`GET <base>/models`), Ollama for its tags
 *   (`GET <base>/api/tags`); any HTTP answer but 401/403 means reachable; 401/403 means the key is refused (the probe
 *   is src/memory/provider-probe.ts, shared with credential validation);
 * - other providers (and workspace models picked on the settings page) have no free endpoint we know: their state
 *   stays what the last real call said.
 * Only changes of state are logged (up → down, down → up), never every tick.
 * @module
 */
import type { Logger } from 'pino';
import { logger as rootLogger } from '../../shared/log.js';
import type { Providers } from '../../memory/providers.js';
import type { ProviderBlock } from '../../memory/config/settings.js';
import type { ExternalStore } from '../../memory/external/stores.js';
import { probeProvider } from '../../memory/provider-probe.js';
import type { Database } from '../../store/index.js';
import { ping } from '../../store/pool.js';
import { isConnectionError } from '../queue/errors.js';

export type ProbeState = 'up' | 'down' | 'unknown';
export type ProbeName = 'database' | 'embedder' | 'llm';

export const MIN_HEARTBEAT_SECONDS = 30;
export const DEFAULT_HEARTBEAT_SECONDS = 120;
const PROBE_TIMEOUT_MS = 10_000;

/** Remembers when each provider last answered a real call (so a busy plugin's heartbeat sends nothing). */
export class ProviderActivity {
  private readonly last = new Map<'llm' | 'embedder', { at: number; ok: boolean }>();

  record(role: 'llm' | 'embedder', ok: boolean): void {
    this.last.set(role, { at: Date.now(), ok });
  }

  since(role: 'llm' | 'embedder', ms: number): boolean | null {
    const seen = this.last.get(role);
    return seen && Date.now() - seen.at <= ms ? seen.ok : null;
  }

  /** The same providers, each call recorded here. */
  wrap(providers: Providers): Providers {
    const track = <T>(role: 'llm' | 'embedder', work: Promise<T>): Promise<T> =>
      work.then(
        (value) => {
          this.record(role, true);
          return value;
        },
        (error: unknown) => {
          // Only a refused key or an unreachable endpoint says something about the endpoint's health.
          const status = (error as { status?: number }).status;
          if (status === undefined || status === 401 || status === 403 || status >= 500) this.record(role, false);
          throw error;
        },
      );
    const { llm, embedder } = providers;
    return {
      ...providers,
      llm: { provider: llm.provider, completeJson: (m, o) => track('llm', llm.completeJson(m, o)) },
      embedder: {
        provider: embedder.provider,
        dims: embedder.dims,
        embed: (t, a, o) => track('embedder', embedder.embed(t, a, o)),
        embedBatch: (t, a, o) => track('embedder', embedder.embedBatch(t, a, o)),
      },
    };
  }
}

export interface KeepAliveOptions {
  database: Database;
  /** The mem0ai vector store holding the memories, when there is one: pinged with the database. */
  external?: ExternalStore | undefined;
  llm: ProviderBlock;
  embedder: ProviderBlock;
  activity: ProviderActivity;
  intervalSeconds: number;
  logger?: Logger;
  fetch?: typeof fetch;
}

export class KeepAlive {
  private readonly states = new Map<ProbeName, ProbeState>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Record<ProbeName, ProbeState>> | null = null;
  readonly intervalMs: number;
  private readonly log: Logger;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: KeepAliveOptions) {
    this.intervalMs = Math.max(MIN_HEARTBEAT_SECONDS, options.intervalSeconds || DEFAULT_HEARTBEAT_SECONDS) * 1000;
    this.log = (options.logger ?? rootLogger).child({ component: 'keepalive' });
    this.fetch = options.fetch ?? fetch;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  state(name: ProbeName): ProbeState {
    return this.states.get(name) ?? 'unknown';
  }

  /** One round of checks (exposed for tests); overlapping calls share the round in progress. */
  tick(): Promise<Record<ProbeName, ProbeState>> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<Record<ProbeName, ProbeState>> {
    const [database, embedder, llm] = await Promise.all([
      this.checkDatabase(),
      this.checkProvider('embedder', this.options.embedder),
      this.checkProvider('llm', this.options.llm),
    ]);
    this.set('database', database.state, database.detail);
    this.set('embedder', embedder.state, embedder.detail);
    this.set('llm', llm.state, llm.detail);
    return { database: database.state, embedder: embedder.state, llm: llm.state };
  }

  private async checkDatabase(): Promise<{ state: ProbeState; detail?: string }> {
    const pool = this.options.database.pool;
    // Two tries: the first may land on a pooled connection that died (server restart); pg drops it on error.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await withTimeout(ping(pool), PROBE_TIMEOUT_MS);
        // Memories in a mem0ai vector store (qdrant, chroma, …) whose state lives here: one-row list round trip.
        for (const external of this.options.external ? [this.options.external] : []) {
          try {
            await withTimeout(external.store.list(undefined, 1), PROBE_TIMEOUT_MS);
          } catch (error) {
            return { state: 'down', detail: `vector store ${external.provider}: ${(error as Error).message}` };
          }
        }
        return { state: 'up' };
      } catch (error) {
        if (attempt === 1 || !isConnectionError(error)) return { state: 'down', detail: (error as Error).message };
      }
    }
    return { state: 'down' };
  }

  private async checkProvider(role: 'llm' | 'embedder', block: ProviderBlock): Promise<{ state: ProbeState; detail?: string }> {
    const recent = this.options.activity.since(role, this.intervalMs);
    if (recent === true) return { state: 'up' };
    const probe = await probeProvider(block, { role, timeoutMs: PROBE_TIMEOUT_MS, fetch: this.fetch });
    if (!probe) return { state: recent === false ? 'down' : this.state(role) };
    return probe.reachable ? { state: 'up' } : { state: 'down', detail: probe.detail };
  }

  private set(name: ProbeName, state: ProbeState, detail?: string): void {
    const before = this.states.get(name);
    this.states.set(name, state);
    if (before === state || state === 'unknown') return;
    if (state === 'down') this.log.warn({ check: name, detail }, `keep-alive: ${name} is unreachable`);
    else if (before !== undefined) this.log.info({ check: name }, `keep-alive: ${name} is reachable again`);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
