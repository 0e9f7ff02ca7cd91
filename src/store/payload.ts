/**
 * Mem0's payload of a memory (`data`, `hash` = md5 hex of data, `user_id`, `agent_id`, `run_id`, `actor_id`, `role`,
 * `created_at`, `updated_at` as Python `isoformat()` strings, user metadata at the top level) and the checks a scope,
 * id, count or metadata passes before the store writes it. Shared by the SQL store (memories.ts) and the external
 * vector-store repository.
 * @module
 */
import { createHash } from 'node:crypto';
import { EngineError } from '../shared/errors.js';
import { UUID } from '../shared/ids.js';
import { FILTER_KEY_PATTERN } from './filters.js';
import type { Scope } from './queries.js';

const MAX_SCOPE_ID = 255;

/** Payload keys Mem0 itself writes; user metadata may not set them. */
export const RESERVED_PAYLOAD_KEYS = new Set([
  'data', 'hash', 'user_id', 'agent_id', 'run_id', 'actor_id', 'role', 'created_at', 'updated_at',
]);

/** Mem0's payload of a new memory: the user's metadata, with the reserved keys written over it. */
export function newMemoryPayload(
  scope: Scope,
  item: { data: string; metadata?: Record<string, unknown> | null | undefined; runId?: string | null | undefined; actorId?: string | null | undefined; role?: string | null | undefined },
  stamp: string,
): Record<string, unknown> {
  const payload: Record<string, unknown> = { ...(item.metadata ?? {}) };
  payload.data = item.data;
  payload.hash = md5(item.data);
  payload.user_id = scope.userId;
  if (scope.agentId) payload.agent_id = scope.agentId;
  if (item.runId) payload.run_id = item.runId;
  if (item.actorId) payload.actor_id = item.actorId;
  if (item.role) payload.role = item.role;
  payload.created_at = stamp;
  payload.updated_at = stamp;
  return payload;
}

/** md5 hex of the UTF-8 text: Mem0's `hashlib.md5(data.encode()).hexdigest()`. */
export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Python's `datetime.isoformat()` for an aware UTC time: `2025-01-15T10:00:00.123000+00:00`. */
export function pythonIso(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function checkScope(scope: Scope): void {
  if (typeof scope?.userId !== 'string' || scope.userId.trim() === '') {
    throw new EngineError('validation', 'user_id is required');
  }
  if (scope.userId.length > MAX_SCOPE_ID) throw new EngineError('validation', `user_id is longer than ${MAX_SCOPE_ID}`);
  if (scope.agentId !== undefined && scope.agentId !== null) {
    if (typeof scope.agentId !== 'string' || scope.agentId.trim() === '') {
      throw new EngineError('validation', 'agent_id must be a non-empty string when given');
    }
    if (scope.agentId.length > MAX_SCOPE_ID) throw new EngineError('validation', `agent_id is longer than ${MAX_SCOPE_ID}`);
  }
}

export function checkUuid(id: string): void {
  if (typeof id !== 'string' || !UUID.test(id)) throw new EngineError('validation', 'memory_id must be a UUID');
}

export function checkCount(value: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new EngineError('validation', `${name} must be a non-negative integer`);
  if (value > max) throw new EngineError('validation', `${name} must be at most ${max}`);
  return value;
}

export function checkMetadata(metadata: Record<string, unknown> | null | undefined): void {
  if (metadata === undefined || metadata === null) return;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new EngineError('validation', 'metadata must be an object');
  for (const key of Object.keys(metadata)) {
    if (!FILTER_KEY_PATTERN.test(key)) {
      throw new EngineError(
        'validation',
        `invalid metadata key ${JSON.stringify(key)}: keys may contain only letters, digits, '_' and '-' (max 64)`,
      );
    }
    if (RESERVED_PAYLOAD_KEYS.has(key)) throw new EngineError('validation', `metadata key '${key}' is reserved`);
  }
  try {
    JSON.stringify(metadata);
  } catch {
    throw new EngineError('validation', 'metadata must be JSON-serialisable');
  }
}
