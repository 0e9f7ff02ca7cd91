/**
 * The parameter checks every door of the memory service shares (the add path, the reads, update/delete, and the
 * queue before it accepts a write): each bad value throws `EngineError('invalid_params')` naming the parameter. And
 * the guard before a write: a deadline that passed while the models worked stores nothing.
 * @module
 */
import { FILTER_KEY_PATTERN } from '../store/filters.js';
import type { Scope } from '../store/queries.js';
import { EngineError } from '../shared/errors.js';
import { UUID } from '../shared/ids.js';

/** Payload keys Mem0 writes itself; user metadata may not set them. */
export const RESERVED_METADATA_KEYS: ReadonlySet<string> = new Set([
  'data', 'hash', 'user_id', 'agent_id', 'run_id', 'actor_id', 'role', 'created_at', 'updated_at',
]);

export interface ScopeInput {
  userId: string;
  agentId?: string | null | undefined;
  /** Trace id: logged, never used to scope. */
  runId?: string | null | undefined;
  signal?: AbortSignal | undefined;
}

export function scopeOf(input: ScopeInput): Scope {
  const userId = requiredText(input.userId, 'user_id');
  const agentId = optionalText(input.agentId);
  return agentId ? { userId, agentId } : { userId };
}

/** A non-empty string parameter, trimmed (also what the queue checks before it accepts a write). */
export function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new EngineError('invalid_params', `${name} is required`);
  return value.trim();
}

export function optionalText(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A UUID parameter (memory_id, job_id), lower-cased; invalid_params naming it otherwise. */
export function uuidParam(value: unknown, name: string): string {
  const id = requiredText(value, name);
  if (!UUID.test(id)) throw new EngineError('invalid_params', `${name} must be a UUID`);
  return id.toLowerCase();
}

/** A memory id: a UUID, lower-cased. */
export function memoryId(value: unknown): string {
  return uuidParam(value, 'memory_id');
}

/** An optional 0–1 number (0 when not given). */
export function fraction(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new EngineError('invalid_params', `${name} must be a number from 0 to 1`);
  }
  return value;
}

export function count(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new EngineError('invalid_params', `${name} must be a non-negative integer`);
  }
  return value;
}

/** User metadata: an object (or JSON text of one) whose keys go to the payload's top level, as in Mem0. */
export function parseMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      throw new EngineError('invalid_params', 'metadata must be a JSON object');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EngineError('invalid_params', 'metadata must be a JSON object');
  }
  for (const key of Object.keys(parsed as object)) {
    if (RESERVED_METADATA_KEYS.has(key)) throw new EngineError('invalid_params', `metadata key '${key}' is reserved`);
    // Checked here as well as in the store, so a bad key fails before any LLM tokens are spent.
    if (!FILTER_KEY_PATTERN.test(key)) {
      throw new EngineError('invalid_params', `metadata key ${JSON.stringify(key.slice(0, 40))} is not allowed: use letters, digits, _ or - (at most 64)`);
    }
  }
  return parsed as Record<string, unknown>;
}

/** A deadline that passed while the LLM/embedder worked must not be followed by a write the caller never sees. */
export function notCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EngineError('timeout', 'the operation ran out of time before writing; nothing was stored');
}
