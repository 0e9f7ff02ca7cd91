/**
 * Our prompts (own wording). Two steps: pull durable facts out of a conversation, then reconcile them with what is
 * already stored. The LLM never sees memory UUIDs: existing memories get small integer handles, and
 * reconcile.ts maps them back, so an invented id cannot reach the database.
 * @module
 */
import type { ChatMessage } from './providers.js';

export interface ConversationTurn {
  role: string;
  content: string;
}

export interface ExtractionOptions {
  /** Today's date (YYYY-MM-DD) so relative dates ("yesterday") can be resolved. */
  today: string;
  /** Extra guidance for a kind of memory (used by long-term extraction); replaces nothing, only adds. */
  focus?: string | undefined;
}

const EXTRACTION_RULES = `You keep long-term notes about a user from their conversations with an assistant.
Read the conversation and list the facts worth remembering later: who the user is, what they like or dislike,
their plans, relationships, circumstances, decisions, and how they want things done.
Rules:
- One fact per item, short and self-contained (understandable without the conversation).
- Write every fact in the language the user wrote in. Never translate: Chinese stays Chinese, Japanese stays Japanese.
- Facts come from what the user says. Take something the assistant said only if the user confirmed it.
- Skip greetings, small talk, questions without an answer, and anything only true for this moment.
- Turn relative dates into absolute ones using today's date.
- If nothing is worth keeping, return an empty list.
Answer with JSON only, exactly this shape: {"facts": ["...", "..."]}`;

/** Messages for step 1: conversation → `{"facts": [...]}`. */
export function factExtractionMessages(turns: ConversationTurn[], options: ExtractionOptions): ChatMessage[] {
  const focus = options.focus ? `\nFocus: ${options.focus}` : '';
  const transcript = turns.map((t) => `${t.role}: ${t.content}`).join('\n');
  return [
    { role: 'system', content: `${EXTRACTION_RULES}\nToday is ${options.today}.${focus}` },
    { role: 'user', content: `Conversation:\n${transcript}` },
  ];
}

export interface HandledMemory {
  /** Small integer the LLM refers to instead of the UUID. */
  handle: number;
  text: string;
}

const RECONCILE_RULES = `You maintain a user's memory list. You get the stored memories (each with a numeric id) and
newly learned facts. Decide, for the new facts, what to do with the list:
- ADD: a fact that is not covered by any stored memory. Give its text.
- UPDATE: a fact that refines, corrects or extends a stored memory about the same thing. Give that memory's id and
  the full new text (merge both, keep the more specific details).
- DELETE: a stored memory the new facts show to be no longer true. Give its id. (Add or update the new truth too.)
- NONE: a fact already fully covered by a stored memory. Give that memory's id.
Rules:
- Use only ids from the stored list; never make one up. Use each id at most once.
- Keep the language of the facts and memories; do not translate.
- Equal meaning counts as covered (NONE), even when worded differently.
Answer with JSON only, exactly this shape:
{"actions": [{"event": "ADD", "text": "..."}, {"event": "UPDATE", "id": 0, "text": "..."},
{"event": "DELETE", "id": 1}, {"event": "NONE", "id": 2}]}`;

/** Messages for step 2: stored memories + new facts → `{"actions": [...]}`. */
export function reconcileMessages(existing: HandledMemory[], facts: string[]): ChatMessage[] {
  const stored = existing.length === 0 ? '(none)' : JSON.stringify(existing.map((m) => ({ id: m.handle, text: m.text })));
  return [
    { role: 'system', content: RECONCILE_RULES },
    { role: 'user', content: `Stored memories:\n${stored}\n\nNew facts:\n${JSON.stringify(facts)}` },
  ];
}

/** Follow-up after an unusable answer: shows the model its answer and what was wrong with it. */
export function retryMessages(original: ChatMessage[], badAnswer: string, problem: string): ChatMessage[] {
  return [
    ...original,
    { role: 'assistant', content: badAnswer.slice(0, 4000) },
    { role: 'user', content: `That answer cannot be used: ${problem}. Reply again with only the JSON object in the required shape.` },
  ];
}
