/**
 * One LLM call sorts a conversation into SEMANTIC, EPISODIC, PROCEDURAL or NONE. The answer is checked with zod and
 * read leniently: code fences, text around the JSON object, lower case, `"semantic memory"`, or a bare word are all
 * accepted; anything else is a {@link ClassificationError} (the caller counts the conversation as failed; it does not
 * silently become NONE).
 * @module
 */
import { z } from 'zod';
import type { MemoryKind, PromptMessage } from './prompts.js';
import { MEMORY_KINDS, classificationMessages } from './prompts.js';
import type { ConversationTurn } from './tokens.js';

/**
 * The LLM as extraction needs it. Structurally the same as the engine's `Llm` (src/memory/providers.ts), so the
 * engine's provider can be passed as is.
 */
export interface ExtractionLlm {
  completeJson(messages: PromptMessage[], options?: { signal?: AbortSignal | undefined }): Promise<string>;
}

export class ClassificationError extends Error {
  override readonly name = 'ClassificationError';
}

export interface Classification {
  kind: MemoryKind;
  reason: string;
}

const answerSchema = z
  .object({
    type: z.string().optional(),
    memory_type: z.string().optional(),
    category: z.string().optional(),
    kind: z.string().optional(),
    reason: z.unknown().optional(),
  })
  .refine((v) => v.type ?? v.memory_type ?? v.category ?? v.kind, { message: 'no "type" field' });

/** Reads the model's answer. Throws {@link ClassificationError} when no kind can be found in it. */
export function parseClassification(raw: string): Classification {
  const text = stripFences(raw).trim();
  const json = firstJsonObject(text);
  if (json !== undefined) {
    const parsed = answerSchema.safeParse(json);
    if (parsed.success) {
      const value = parsed.data.type ?? parsed.data.memory_type ?? parsed.data.category ?? parsed.data.kind ?? '';
      const kind = kindIn(value);
      if (kind) return { kind, reason: typeof parsed.data.reason === 'string' ? parsed.data.reason.trim() : '' };
      throw new ClassificationError(`classification answer has an unknown type ${JSON.stringify(value.slice(0, 40))}`);
    }
    throw new ClassificationError(`classification answer is not of the expected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  // No JSON at all: accept an answer that is just the word.
  const bare = /^[\s"'`*]*([A-Za-z]+)[\s"'`.*]*$/.exec(text);
  const kind = bare ? kindIn(bare[1]!) : undefined;
  if (kind) return { kind, reason: '' };
  throw new ClassificationError(`classification answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
}

/** Asks the LLM once and parses the answer. */
export async function classifyConversation(
  llm: ExtractionLlm,
  turns: readonly ConversationTurn[],
  options: { signal?: AbortSignal | undefined } = {},
): Promise<Classification> {
  if (turns.length === 0) return { kind: 'NONE', reason: 'empty conversation' };
  const raw = await llm.completeJson(classificationMessages(turns), { signal: options.signal });
  return parseClassification(raw);
}

/** `"semantic"`, `"SEMANTIC memory"`, `" Episodic "` → the kind; anything naming none or two kinds → undefined. */
function kindIn(value: string): MemoryKind | undefined {
  const words = value.toUpperCase().match(/[A-Z]+/g) ?? [];
  const found = new Set<MemoryKind>();
  for (const word of words) {
    const kind = MEMORY_KINDS.find((k) => k === word);
    if (kind) found.add(kind);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

function stripFences(raw: string): string {
  const fenced = /```[a-zA-Z]*\s*\n?([\s\S]*?)```/.exec(raw);
  return fenced ? fenced[1]! : raw;
}

/** The first balanced `{...}` in `text` that parses as JSON (strings and escapes respected). */
function firstJsonObject(text: string): unknown {
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1)) as unknown;
        } catch {
          break;
        }
      }
    }
  }
  return undefined;
}
