/**
 * The graph LLM answers, checked with zod after the same JSON repair as the memory reconcile (reconcile.ts). A
 * relation whose ends are not among the named entities still counts: its ends become entities of type ''.
 * @module
 */
import { z } from 'zod';
import { repairJson } from '../reconcile.js';
import type { ParseResult } from '../reconcile.js';

export interface ExtractedGraph {
  entities: Array<{ name: string; type: string }>;
  relations: Array<{ source: string; relationship: string; destination: string }>;
}

const text = z.union([z.string(), z.number().transform(String)]);
const Entity = z.object({ name: text, type: text.nullish(), entity_type: text.nullish() })
  .transform((e) => ({ name: e.name, type: e.type ?? e.entity_type ?? '' }));
const Relation = z.object({
  source: text,
  relationship: text.nullish(),
  relation: text.nullish(),
  destination: text.nullish(),
  target: text.nullish(),
}).transform((r) => ({ source: r.source, relationship: r.relationship ?? r.relation ?? '', destination: r.destination ?? r.target ?? '' }));
const ExtractionAnswer = z.object({
  entities: z.array(Entity).nullish(),
  relations: z.array(Relation).nullish(),
});

export function parseGraphExtraction(raw: string): ParseResult<ExtractedGraph> {
  const json = repairJson(raw);
  if (json === null) return { ok: false, problem: 'no JSON object found' };
  const parsed = ExtractionAnswer.safeParse(json);
  if (!parsed.success) {
    return { ok: false, problem: 'expected {"entities": [{"name", "type"}], "relations": [{"source", "relationship", "destination"}]}' };
  }
  return { ok: true, value: { entities: parsed.data.entities ?? [], relations: parsed.data.relations ?? [] } };
}

const Handle = z.union([z.number().int(), z.string().trim().regex(/^\d+$/).transform(Number)]);
const DeleteAnswer = z.union([
  z.object({ delete: z.array(Handle) }).transform((o) => o.delete),
  z.array(Handle),
]);

/** `{"delete": [ids]}`, every id one the LLM was shown. */
export function parseGraphDeletions(raw: string, handles: ReadonlySet<number>): ParseResult<number[]> {
  const json = repairJson(raw);
  if (json === null) return { ok: false, problem: 'no JSON object found' };
  const parsed = DeleteAnswer.safeParse(json);
  if (!parsed.success) return { ok: false, problem: 'expected {"delete": [ids]}' };
  for (const id of parsed.data) {
    if (!handles.has(id)) return { ok: false, problem: `id ${id} is not in the stored list` };
  }
  return { ok: true, value: [...new Set(parsed.data)] };
}
