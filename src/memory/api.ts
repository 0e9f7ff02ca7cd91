/**
 * What the tools need from the memory engine: the interface they call. src/app/app.ts builds it per credential set
 * (`engineServices()`: reads from memory/, writes through the queue in jobs/); src/tools/not-built.ts answers every
 * call with NotBuiltError and is what the tool-layer tests use.
 * @module
 */
import type { Settings } from './config/settings.js';
import type { Scope } from '../store/queries.js';
import type { HistoryAnswer, ListAnswer, MemoryItem, SearchAnswer } from './service.js';
import type { GraphAddResult } from './graph/graph-memory.js';
import type { ExportFile, ImportReport } from './transfer.js';

/** Who a tool call's memory belongs to (the store's Scope, validated once by the tools' schemas), plus the call's
 * `runId`: a trace id only, logged, never scoping memory. */
export interface CallScope extends Scope {
  agentId?: string | undefined;
  runId?: string | undefined;
}

/** Every call is bounded: the service gives up after `timeoutSeconds` (throwing TimeoutError) or when aborted. */
export interface CallOptions {
  timeoutSeconds: number;
  signal: AbortSignal;
}

export type JsonObject = Record<string, unknown>;
export type MemoryEventKind = 'ADD' | 'UPDATE' | 'DELETE' | 'ACCEPT' | 'SKIP';
/** What a write did; a queued one (`ACCEPT`) names its `job_id` (for get_job_status) and the memory id when known. */
export interface MemoryEvent { id: string | null; memory: string; event: MemoryEventKind; job_id?: string }
/** add's answer: the events, and with a graph store what the add changed in the graph (absent when queued). */
export interface AddAnswer { results: MemoryEvent[]; relations?: GraphAddResult }
/**
 * delete_all's answer: `deleted_count` when done now; with `dry_run`, `would_delete_count` and nothing deleted;
 * queued (async mode): `accepted`, `job_id`, `deleted_count: null`.
 */
export interface DeleteAllResult {
  deleted_count: number | null;
  dry_run?: true;
  would_delete_count?: number;
  /** Dry run with a graph store: the relations the deletion would remove with the memories. */
  would_delete_relations?: number;
  accepted?: true;
  job_id?: string;
}

/** A queued write as get_job_status shows it. Times are ISO 8601 UTC. */
export interface JobStatus {
  job_id: string;
  kind: string;
  /** queued → running → completed, or waiting_retry between attempts, or failed (kept with its error). */
  state: 'queued' | 'running' | 'waiting_retry' | 'completed' | 'failed';
  attempts: number;
  max_attempts: number;
  next_retry_at: string | null;
  last_error: { code: string; message: string } | null;
  /** The memories the job added, updated and deleted (empty until it completed). */
  memory_ids: { added: string[]; updated: string[]; deleted: string[] };
  /** delete_all jobs on PostgreSQL/PGlite report a count rather than every id. */
  deleted_count?: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The memory calls of the tools: reads from memory/reads.ts, writes and job status from jobs/queue/ (src/app/app.ts joins them). */
export interface MemoryApi {
  /** `infer` false stores the turn's text as given (no LLM call), as Mem0's `infer=False`. */
  add(input: { scope: CallScope; user: string; assistant?: string | undefined; metadata?: JsonObject | undefined; infer?: boolean | undefined }, options: CallOptions): Promise<AddAnswer>;
  search(input: { scope: CallScope; query: string; filters?: JsonObject | undefined; topK: number; threshold?: number | undefined }, options: CallOptions): Promise<SearchAnswer>;
  getAll(input: { scope: CallScope; filters?: JsonObject | undefined; limit: number; offset?: number | undefined }, options: CallOptions): Promise<ListAnswer>;
  /** Throws NotFoundError when there is no such memory. */
  get(input: { memoryId: string; runId?: string | undefined }, options: CallOptions): Promise<MemoryItem>;
  update(input: { memoryId: string; text: string; runId?: string | undefined }, options: CallOptions): Promise<MemoryEvent>;
  delete(input: { memoryId: string; runId?: string | undefined }, options: CallOptions): Promise<MemoryEvent>;
  /** Deletes the scope's memories matching `filters` (all without); `dryRun` only counts them. */
  deleteAll(input: { scope: CallScope; filters?: JsonObject | undefined; dryRun: boolean }, options: CallOptions): Promise<DeleteAllResult>;
  /** The memory's history; with a graph store also what its writes changed in the graph (`relations`). */
  history(input: { memoryId: string; runId?: string | undefined }, options: CallOptions): Promise<HistoryAnswer>;
  /** A queued write by its job id (jobs/queue/status.ts). Throws not_found when there is none (never queued, or past retention). */
  jobStatus(input: { jobId: string; runId?: string | undefined }, options: CallOptions): Promise<JobStatus>;
}

export interface ExtractionRequest {
  userIds: string[];
  appId: string;
  runId?: string | undefined;
  daysBack: number;
  conversationsLimit: number;
  /** Thousands of tokens (cl100k_base) kept per conversation. */
  maxTokensPerConversationK: number;
  timeBudgetMinutes: number;
  difyBaseUrl: string;
  difyApiKey: string;
}

export interface ExtractionService {
  /** Queues a run; throws OverloadError when too many users are already waiting or running. */
  start(request: ExtractionRequest, signal: AbortSignal): Promise<JsonObject & { task_id: string }>;
  /** Throws NotFoundError for an unknown task. */
  status(taskId: string, signal: AbortSignal): Promise<JsonObject>;
  /** Throws NotFoundError when the user has no checkpoint (for that app). */
  checkpoint(input: { userId: string; appId?: string | undefined }, signal: AbortSignal): Promise<JsonObject>;
}

export interface ForgettingService {
  forget(input: { userId: string; appId?: string | undefined; dryRun: boolean }, signal: AbortSignal): Promise<JsonObject>;
}

/** Export to a JSON Lines file and import from a URL (memory/transfer.ts). */
export interface TransferService {
  exportFile(input: { scope: Scope; filters?: JsonObject | undefined; includeHistory: boolean; offset: number }, signal: AbortSignal): Promise<ExportFile>;
  importUrl(input: { url: URL; defaultUserId?: string | undefined }, signal: AbortSignal): Promise<ImportReport>;
}

export interface MemoryServices {
  memories: MemoryApi;
  /** Absent in services that do not store memories themselves (tests' fakes): the tools then answer "not built". */
  transfer?: TransferService;
  extraction: ExtractionService;
  forgetting: ForgettingService;
  /** Releases pools, timers and workers; called when the credential set is replaced and on shutdown. */
  close(): Promise<void>;
  /** Optional: settles when background work (running extraction tasks) has finished; awaited before an evicted set closes. */
  drain?(): Promise<void>;
}

/** Builds the services for one credential set; `createPluginApp` caches the result by the settings hash. */
export type ServicesFactory = (settings: Settings) => MemoryServices | Promise<MemoryServices>;
