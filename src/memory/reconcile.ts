/**
 * Pure logic between the LLM and the store: read the LLM's JSON (repairing the usual breakage), check it with zod,
 * ask once more when it is unusable, and turn reconciliation actions into concrete changes. Handles the LLM did not
 * receive are rejected, so it cannot point an UPDATE or DELETE at a memory we did not show it.
 * @module
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EngineError } from '../shared/errors.js';
import { retryMessages } from './prompts.js';
import type { ChatMessage } from './providers.js';

/** md5 hex of the UTF-8 text, as Mem0 stores in `payload.hash` (Python: `hashlib.md5(data.encode()).hexdigest()`). */
export function hashText(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Finds the JSON in an LLM answer: drops reasoning blocks (`<think>…</think>`) and code fences, cuts away prose
 * before and after the outermost object/array, and removes trailing commas. Returns null when nothing parses.
 */
export function repairJson(raw: string): unknown {
  let text = raw.replace(/<think>[\s\S]*?<\/think>/gi, '').trim();
  const fenced = /```(?:json|JSON)?\s*([\s\S]*?)```/.exec(text);
  if (fenced?.[1] !== undefined) text = fenced[1].trim();
  const attempts = [text];
  const start = text.search(/[[{]/);
  if (start >= 0) {
    const open = text[start];
    const end = text.lastIndexOf(open === '{' ? '}' : ']');
    if (end > start) attempts.push(text.slice(start, end + 1));
  }
  for (const candidate of attempts) {
    for (const variant of [candidate, candidate.replace(/,\s*([}\]])/g, '$1')]) {
      try {
        return JSON.parse(variant) as unknown;
      } catch {
        // try the next variant
      }
    }
  }
  return null;
}

// ── facts ────────────────────────────────────────────────────────────────────────────────────────────────────────

const FactItem = z.union([z.string(), z.object({ fact: z.string() }).transform((o) => o.fact), z.object({ text: z.string() }).transform((o) => o.text)]);
const FactsAnswer = z.union([
  z.object({ facts: z.array(FactItem) }).transform((o) => o.facts),
  z.array(FactItem),
]);

/** `{"facts": [...]}` (or a bare array) → trimmed, non-empty, deduplicated facts. */
export function parseFacts(raw: string): ParseResult<string[]> {
  const json = repairJson(raw);
  if (json === null) return { ok: false, problem: 'no JSON object found' };
  const parsed = FactsAnswer.safeParse(json);
  if (!parsed.success) return { ok: false, problem: 'expected {"facts": [strings]}' };
  return { ok: true, value: dedupeTexts(parsed.data) };
}

/** Trims, drops empty texts and keeps the first of identical ones (same md5). */
export function dedupeTexts(texts: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const t of texts) {
    const text = t.trim();
    if (text === '') continue;
    const h = hashText(text);
    if (seen.has(h)) continue;
    seen.add(h);
    out.push(text);
  }
  return out;
}

// ── reconciliation actions ─────────────────────────────────────────────────────────────────────────────────────────

export type EventName = 'ADD' | 'UPDATE' | 'DELETE' | 'NONE';

export interface Action {
  event: EventName;
  handle?: number | undefined;
  text?: string | undefined;
}

const Handle = z.union([z.number().int(), z.string().trim().regex(/^\d+$/).transform(Number)]);
const ActionItem = z.object({
  event: z.string().transform((e) => e.trim().toUpperCase()).pipe(z.enum(['ADD', 'UPDATE', 'DELETE', 'NONE'])),
  id: Handle.nullish(),
  text: z.string().nullish(),
});
const ActionsAnswer = z.union([
  z.object({ actions: z.array(ActionItem) }).transform((o) => o.actions),
  z.object({ memory: z.array(ActionItem) }).transform((o) => o.memory),
  z.array(ActionItem),
]);

/** Checks the reconciliation answer against the handles the LLM was given. */
export function parseActions(raw: string, handles: ReadonlySet<number>): ParseResult<Action[]> {
  const json = repairJson(raw);
  if (json === null) return { ok: false, problem: 'no JSON object found' };
  const parsed = ActionsAnswer.safeParse(json);
  if (!parsed.success) return { ok: false, problem: 'expected {"actions": [{"event": "ADD|UPDATE|DELETE|NONE", "id"?, "text"?}]}' };
  const used = new Set<number>();
  const actions: Action[] = [];
  for (const item of parsed.data) {
    const text = item.text?.trim() || undefined;
    const handle = item.id ?? undefined;
    if (item.event === 'ADD') {
      if (!text) return { ok: false, problem: 'an ADD action has no text' };
      actions.push({ event: 'ADD', text });
      continue;
    }
    if (handle === undefined) {
      if (item.event === 'NONE') continue;
      return { ok: false, problem: `an ${item.event} action has no id` };
    }
    if (!handles.has(handle)) return { ok: false, problem: `id ${handle} is not in the stored list` };
    if (used.has(handle)) return { ok: false, problem: `id ${handle} is used more than once` };
    used.add(handle);
    if (item.event === 'UPDATE' && !text) return { ok: false, problem: `the UPDATE of id ${handle} has no text` };
    actions.push({ event: item.event, handle, text });
  }
  return { ok: true, value: actions };
}

// ── asking with one retry ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * Sends `messages`, parses the answer; if unusable, shows the model its answer and the problem and asks once more.
 * A second unusable answer is an `llm_output` error: the caller reports it, nothing is written.
 */
export async function askJson<T>(
  ask: (messages: ChatMessage[]) => Promise<string>,
  messages: ChatMessage[],
  parse: (raw: string) => ParseResult<T>,
  step: string,
): Promise<T> {
  const first = await ask(messages);
  const one = parse(first);
  if (one.ok) return one.value;
  const second = await ask(retryMessages(messages, first, one.problem));
  const two = parse(second);
  if (two.ok) return two.value;
  throw new EngineError('llm_output', `${step}: the LLM's answer was not usable JSON, also after a retry (${two.problem})`);
}

// ── plan ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export interface Candidate {
  handle: number;
  id: string;
  text: string;
  hash: string;
}

export interface Plan {
  adds: string[];
  updates: Array<{ id: string; text: string; previous: string }>;
  deletes: Array<{ id: string; text: string }>;
}

/**
 * Turns validated actions into changes. Exact duplicates are dropped: an ADD whose text (md5) equals a stored
 * candidate, another ADD or an UPDATE's result; an UPDATE that does not change the text.
 */
export function planChanges(candidates: Candidate[], actions: Action[]): Plan {
  const byHandle = new Map(candidates.map((c) => [c.handle, c]));
  const known = new Set(candidates.map((c) => c.hash));
  const plan: Plan = { adds: [], updates: [], deletes: [] };
  // Deletions first: a deleted memory's text no longer counts as stored, so it may come back as an ADD.
  for (const action of actions) {
    const target = action.handle === undefined ? undefined : byHandle.get(action.handle);
    if (action.event !== 'DELETE' || !target) continue;
    known.delete(target.hash);
    plan.deletes.push({ id: target.id, text: target.text });
  }
  for (const action of actions) {
    const target = action.handle === undefined ? undefined : byHandle.get(action.handle);
    if (action.event !== 'UPDATE' || !target || !action.text) continue;
    const h = hashText(action.text);
    if (h === target.hash || known.has(h)) continue;
    known.add(h);
    plan.updates.push({ id: target.id, text: action.text, previous: target.text });
  }
  for (const action of actions) {
    if (action.event !== 'ADD' || !action.text) continue;
    const h = hashText(action.text);
    if (known.has(h)) continue;
    known.add(h);
    plan.adds.push(action.text);
  }
  return plan;
}
