/**
 * Long-term extraction from Dify conversations.
 * - {@link openExtraction}: the tools' `ExtractionService` for one engine (async: ACCEPTED at once; sync: foreground).
 * - {@link ExtractionOrchestrator}: task records, CAS checkpoints, per-(user, app) leases, the pool of 5.
 * - {@link extractionCleaners}: `cleanCheckpoints` and `housekeeping` for forget_memories.
 * The storage-free parts the orchestration builds on:
 * - {@link DifyClient}: the two Service API reads, with timeouts, retries and typed errors.
 * - {@link extractionWindow}/{@link resolveTimeZone}: `[local midnight − days_back, local midnight)`.
 * - {@link extractUser}: one user from stored checkpoint to new checkpoint, counts and status.
 * - {@link processConversation}, {@link ConversationScan}, {@link readNewMessages}: the pieces it is made of.
 * @module
 */
export { DifyAuthError, DifyClient, DifyConfigError, DifyError, DifyNotFoundError, DifyUpstreamError, normalizeDifyBaseUrl } from './dify-client.js';
export type { DifyClientOptions, DifyClientStats, DifyConversation, DifyMessage } from './dify-client.js';
export { extractionWindow, resolveTimeZone } from './window.js';
export type { ExtractionWindow, ResolvedTimeZone } from './window.js';
export { advanceCheckpoint, mayHaveNewMessages, selectNewMessages } from './checkpoint.js';
export type { SecondsWindow } from './checkpoint.js';
export type { ConversationCheckpoint, UserCheckpoint } from '../../store/extraction-checkpoints.js';
export type { UserStatus } from '../../store/extraction-tasks.js';
export { ConversationScan, readNewMessages, resumeWindow } from './scan.js';
export type { ResumeCursor } from './scan.js';
export { loadTokenizer, tokenCap } from './tokens.js';
export type { ConversationTurn, Tokenizer } from './tokens.js';
export { ClassificationError, classifyConversation } from './classify.js';
export type { ExtractionLlm } from './classify.js';
export type { MemoryKind } from './prompts.js';
export { processConversation } from './conversation.js';
export type { ConversationDeps, ConversationOutcome, MemoryWriter } from './conversation.js';
export { emptyUserCheckpoint, extractUser, storedCursor } from './user.js';
export type { UserRunOptions, UserRunResult, UserStopReason } from './user.js';
export { CheckpointConflictError, CheckpointStore } from '../../store/extraction-checkpoints.js';
export type { StoredCheckpoint } from '../../store/extraction-checkpoints.js';
export { LeaseStore } from '../../store/extraction-leases.js';
export type { Lease } from '../../store/extraction-leases.js';
export { INTERRUPTED_ERROR, TaskStore } from '../../store/extraction-tasks.js';
export type { TaskCounters, TaskRow, UserReport } from '../../store/extraction-tasks.js';
export { extractionTables } from '../../store/extraction-tables.js';
export { DEFAULT_ORCHESTRATOR, ExtractionOrchestrator, PROCESS_ID } from './orchestrator.js';
export type { OrchestratorOptions, TaskRequest } from './orchestrator.js';
export { extractionCleaners, openExtraction } from './service.js';
export type { Extraction, ExtractionEngine } from './service.js';
