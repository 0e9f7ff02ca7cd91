/**
 * Export and import of memories as JSON Lines (the format is documented in CONFIG.md, "Export and import").
 *
 * One line per memory:
 *   {"id", "text", "hash", "metadata", "scope": {"user_id", "agent_id", "run_id"}, "actor_id", "role",
 *    "created_at", "updated_at", "history"?: [{"event", "old_memory", "new_memory", "created_at", "updated_at",
 *    "is_deleted", "actor_id", "role"}]}
 * Import also reads Mem0's own `get_all` answer (`{"results": [{"id", "memory", "hash", "metadata", "user_id", …}]}`
 * or a bare array of such items). Vectors are never exported: an import embeds every text with the configured
 * embedder, so a file moves between stores and embedding models.
 *
 * Both directions stream: an export reads the store a page at a time into a file, an import reads its source a line
 * at a time and writes a batch at a time, so memory stays flat however many memories there are.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { EngineStore } from './store-repository.js';
import type { ImportHistory, ImportRecord, MemoryRecord } from '../store/memories.js';
import type { Scope } from '../store/queries.js';
import { md5, pythonIso } from '../store/payload.js';
import { EngineError } from '../shared/errors.js';
import { canonicalJson } from './config/settings.js';
import { externalExportPages, externalImport } from './external/transfer.js';
import type { Embedder } from './providers.js';

/** Dify keeps at most 30 MiB per file a tool returns. */
export const MAX_EXPORT_BYTES = 30 * 1024 * 1024;
const EXPORT_PAGE = 500;
const IMPORT_BATCH = 100;
/** At most this many failed lines are described in an import report (all are counted). */
const MAX_REPORTED_FAILURES = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESERVED = new Set(['data', 'hash', 'user_id', 'agent_id', 'run_id', 'actor_id', 'role', 'created_at', 'updated_at']);

export interface ExportLine {
  id: string;
  text: string;
  hash: string | null;
  metadata: Record<string, unknown>;
  scope: { user_id: string | null; agent_id: string | null; run_id: string | null };
  actor_id: string | null;
  role: string | null;
  created_at: string;
  updated_at: string;
  history?: Array<{
    event: string;
    old_memory: string | null;
    new_memory: string | null;
    created_at: string | null;
    updated_at: string | null;
    is_deleted: boolean;
    actor_id: string | null;
    role: string | null;
  }>;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The export line of a stored memory. */
export function exportLine(record: MemoryRecord, history?: ImportHistory[]): ExportLine {
  const line: ExportLine = {
    id: record.id,
    text: record.data,
    hash: record.hash,
    // Keys in one order whatever the store keeps (PostgreSQL's jsonb orders them by length, Chroma its own way), so
    // the same memories give the same bytes from every store.
    metadata: JSON.parse(canonicalJson(record.metadata)) as Record<string, unknown>,
    scope: { user_id: record.userId, agent_id: record.agentId, run_id: record.runId },
    actor_id: str(record.payload.actor_id),
    role: str(record.payload.role),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
  if (history) {
    line.history = history.map((h) => ({
      event: h.event, old_memory: h.oldMemory, new_memory: h.newMemory, created_at: h.createdAt, updated_at: h.updatedAt,
      is_deleted: h.isDeleted, actor_id: h.actorId, role: h.role,
    }));
  }
  return line;
}

export interface ExportRequest {
  scope: Scope;
  filters?: Record<string, unknown> | undefined;
  includeHistory: boolean;
  /** Memories to skip first (to resume a truncated export). */
  offset: number;
  signal: AbortSignal;
  /** Largest file (default and ceiling: {@link MAX_EXPORT_BYTES}). */
  maxBytes?: number;
}

export interface ExportFile {
  /** A temporary file; the caller sends it and deletes it. */
  path: string;
  bytes: number;
  count: number;
  /** True when the size limit stopped the export before the last memory; resume with `nextOffset`. */
  truncated: boolean;
  nextOffset: number | null;
}

/** The scope's memories, oldest first, a page at a time: from our tables, or from the mem0ai vector store. */
function pagesOf(store: EngineStore, request: ExportRequest): AsyncGenerator<MemoryRecord[]> {
  const external = store.external;
  if (external) return externalExportPages(external, request.scope, { filters: request.filters, offset: request.offset, pageSize: EXPORT_PAGE });
  return tablePages(store, request);
}

async function* tablePages(store: EngineStore, request: ExportRequest): AsyncGenerator<MemoryRecord[]> {
  let after: { createdAt: string; id: string } | undefined;
  let first = true;
  for (;;) {
    const page = await store.memories.exportPage(request.scope, {
      limit: EXPORT_PAGE, filters: request.filters, after, ...(first && request.offset > 0 ? { offset: request.offset } : {}),
    });
    first = false;
    if (page.length === 0) return;
    yield page;
    const last = page[page.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** Inserts imported memories whose ids are not stored yet: the ids inserted, and those the store refused (why). */
async function insertRecords(store: EngineStore, records: readonly ImportRecord[]): Promise<{ inserted: string[]; refused: Map<string, string> }> {
  const external = store.external;
  if (external) return externalImport(external, store, records);
  return { inserted: await store.memories.importRecords(records), refused: new Map() };
}

/** Writes the scope's memories, oldest first, to a temporary JSON Lines file. */
export async function exportToFile(store: EngineStore, request: ExportRequest): Promise<ExportFile> {
  const maxBytes = Math.min(request.maxBytes ?? MAX_EXPORT_BYTES, MAX_EXPORT_BYTES);
  const file = path.join(tmpdir(), `mem0ai-export-${randomUUID()}.jsonl`);
  const out = createWriteStream(file, { mode: 0o600 });
  let bytes = 0;
  let count = 0;
  let truncated = false;
  try {
    for await (const page of pagesOf(store, request)) {
      request.signal.throwIfAborted();
      const history = request.includeHistory ? await store.memories.historyOf(page.map((r) => r.id)) : undefined;
      for (const record of page) {
        const text = `${JSON.stringify(exportLine(record, history ? (history.get(record.id) ?? []) : undefined))}\n`;
        const size = Buffer.byteLength(text);
        if (bytes + size > maxBytes) {
          truncated = true;
          break;
        }
        bytes += size;
        count += 1;
        if (!out.write(text)) await once(out, 'drain');
      }
      if (truncated) break;
    }
    out.end();
    await once(out, 'close');
  } catch (error) {
    out.destroy();
    await unlink(file).catch(() => {});
    throw error;
  }
  return { path: file, bytes, count, truncated, nextOffset: truncated ? request.offset + count : null };
}

/** One memory read from an import line, before embedding. */
export interface ImportItem {
  id: string;
  text: string;
  hash: string | null;
  metadata: Record<string, unknown>;
  userId: string;
  agentId: string | null;
  runId: string | null;
  actorId: string | null;
  role: string | null;
  createdAt: string;
  updatedAt: string;
  history?: ImportHistory[] | undefined;
}

/** Why a line cannot be imported; the report names its line number. */
export class LineError extends Error {}

function isoOrNow(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') return new Date().toISOString();
  const time = typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(time.getTime())) throw new LineError(`"${field}" is not a date`);
  return time.toISOString();
}

function historyOf(value: unknown): ImportHistory[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new LineError('"history" must be a list');
  return value.map((h: Record<string, unknown>, index) => {
    const event = h?.event;
    if (event !== 'ADD' && event !== 'UPDATE' && event !== 'DELETE') throw new LineError(`history[${index}].event must be ADD, UPDATE or DELETE`);
    return {
      event,
      oldMemory: str(h.old_memory),
      newMemory: str(h.new_memory),
      createdAt: h.created_at ? isoOrNow(h.created_at, `history[${index}].created_at`) : null,
      updatedAt: h.updated_at ? isoOrNow(h.updated_at, `history[${index}].updated_at`) : null,
      isDeleted: h.is_deleted === true,
      actorId: str(h.actor_id),
      role: str(h.role),
    };
  });
}

/**
 * Reads one memory in our export format or as an item of Mem0's `get_all` answer. `defaultUserId` is the owner of a
 * memory whose line names none.
 */
export function importItem(value: unknown, defaultUserId: string | undefined): ImportItem {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LineError('not a JSON object');
  const v = value as Record<string, unknown>;
  const id = v.id;
  if (typeof id !== 'string' || !UUID.test(id)) throw new LineError('"id" must be a UUID');
  const text = typeof v.text === 'string' ? v.text : typeof v.memory === 'string' ? v.memory : v.data;
  if (typeof text !== 'string' || text.trim() === '') throw new LineError('"text" (or Mem0\'s "memory") is missing or empty');
  const scope = (v.scope && typeof v.scope === 'object' ? v.scope : v) as Record<string, unknown>;
  const userId = str(scope.user_id) ?? defaultUserId;
  if (!userId) throw new LineError('no "user_id" in the line and no user_id parameter');
  const metadata = v.metadata ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new LineError('"metadata" must be an object');
  const reserved = Object.keys(metadata).find((key) => RESERVED.has(key));
  if (reserved) throw new LineError(`metadata key "${reserved}" is reserved`);
  return {
    id: id.toLowerCase(),
    text,
    hash: str(v.hash),
    metadata: metadata as Record<string, unknown>,
    userId,
    agentId: str(scope.agent_id),
    runId: str(scope.run_id),
    actorId: str(v.actor_id),
    role: str(v.role),
    createdAt: isoOrNow(v.created_at, 'created_at'),
    updatedAt: isoOrNow(v.updated_at ?? v.created_at, 'updated_at'),
    history: historyOf(v.history),
  };
}

/** The stored form of an imported memory: Mem0's payload keys over the metadata, as the store writes them. */
export function importRecord(item: ImportItem, vector: readonly number[]): ImportRecord {
  const payload: Record<string, unknown> = { ...item.metadata };
  payload.data = item.text;
  payload.hash = item.hash ?? md5(item.text);
  payload.user_id = item.userId;
  if (item.agentId) payload.agent_id = item.agentId;
  if (item.runId) payload.run_id = item.runId;
  if (item.actorId) payload.actor_id = item.actorId;
  if (item.role) payload.role = item.role;
  payload.created_at = pythonIso(new Date(item.createdAt));
  payload.updated_at = pythonIso(new Date(item.updatedAt));
  return { id: item.id, payload, vector, createdAt: item.createdAt, updatedAt: item.updatedAt, history: item.history };
}

export interface ImportReport {
  inserted: number;
  skipped: number;
  failed: number;
  /** The first failures, each naming its line (1-based) and why. */
  failures: Array<{ line: number; reason: string }>;
}

/**
 * Imports the memories of a source of lines (JSON Lines, or one JSON document in Mem0's `get_all` shape, which then
 * arrives as its lines and is parsed whole). Ids that exist are skipped; texts are embedded in batches.
 */
export async function importLines(
  store: EngineStore,
  embedder: Embedder,
  lines: AsyncIterable<string>,
  options: { defaultUserId?: string | undefined; signal: AbortSignal },
): Promise<ImportReport> {
  const report: ImportReport = { inserted: 0, skipped: 0, failed: 0, failures: [] };
  const fail = (line: number, reason: string) => {
    report.failed += 1;
    if (report.failures.length < MAX_REPORTED_FAILURES) report.failures.push({ line, reason });
  };
  let batch: Array<{ line: number; item: ImportItem }> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    options.signal.throwIfAborted();
    let vectors: number[][];
    try {
      vectors = await embedder.embedBatch(items.map((entry) => entry.item.text), 'add', { signal: options.signal });
    } catch (error) {
      throw new EngineError('upstream', `embedding the imported memories failed: ${(error as Error).message}`, { cause: error });
    }
    const records = items.map((entry, index) => importRecord(entry.item, vectors[index] ?? []));
    const { inserted, refused } = await insertRecords(store, records);
    for (const entry of items) {
      const reason = refused.get(entry.item.id);
      if (reason !== undefined) fail(entry.line, reason);
    }
    report.inserted += inserted.length;
    report.skipped += items.length - inserted.length - refused.size;
  };

  let lineNo = 0;
  // A document that does not fit one line (Mem0's get_all answer, pretty-printed) is gathered and read whole.
  let document: string[] | null = null;
  const seen = new Set<string>();
  const take = async (value: unknown, line: number) => {
    let item: ImportItem;
    try {
      item = importItem(value, options.defaultUserId);
    } catch (error) {
      if (error instanceof LineError) return fail(line, error.message);
      throw error;
    }
    // The same id twice in one file: the first one wins, like a re-import.
    if (seen.has(item.id)) {
      report.skipped += 1;
      return;
    }
    seen.add(item.id);
    batch.push({ line, item });
    if (batch.length >= IMPORT_BATCH) await flush();
  };
  const takeDocument = async (parsed: unknown) => {
    const items = Array.isArray(parsed) ? parsed : (parsed as { results?: unknown })?.results;
    if (!Array.isArray(items)) return fail(1, 'a JSON document must be a list of memories or Mem0\'s {"results": [...]}');
    for (let i = 0; i < items.length; i++) await take(items[i], i + 1);
  };

  for await (const raw of lines) {
    lineNo += 1;
    if (document) {
      document.push(raw);
      continue;
    }
    const text = raw.trim();
    if (text === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      if (lineNo === 1 && (text.startsWith('{') || text.startsWith('['))) {
        document = [raw];
        continue;
      }
      fail(lineNo, 'not valid JSON');
      continue;
    }
    if (lineNo === 1 && (Array.isArray(parsed) || Array.isArray((parsed as { results?: unknown })?.results))) {
      await takeDocument(parsed);
      continue;
    }
    await take(parsed, lineNo);
  }
  if (document) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(document.join('\n'));
    } catch (error) {
      fail(1, `the file is neither JSON Lines nor one JSON document: ${(error as Error).message}`);
      parsed = undefined;
    }
    if (parsed !== undefined) await takeDocument(parsed);
  }
  await flush();
  return report;
}
