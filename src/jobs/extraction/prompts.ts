/**
 * Prompts for long-term extraction (our own wording). Step 1 sorts a conversation into one kind of memory; step 2
 * hands the conversation to the memory engine's add path with guidance for that kind (the engine's `focus`), so the
 * facts go through the same ADD/UPDATE/DELETE reconciliation as any other add.
 * @module
 */
import type { ConversationTurn } from './tokens.js';

export const MEMORY_KINDS = ['SEMANTIC', 'EPISODIC', 'PROCEDURAL', 'NONE'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];
/** The kinds that lead to an extraction. */
export type ExtractableKind = Exclude<MemoryKind, 'NONE'>;

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const CLASSIFY_RULES = `You sort a conversation between a user and an assistant by the kind of long-term memory it can
give about the user. Choose exactly one kind:
- SEMANTIC: lasting facts about the user: who they are, preferences and dislikes, relationships, work, skills,
  belongings, settled opinions, circumstances that stay true for a while.
- EPISODIC: things that happened to the user or are planned at a particular time: events, experiences, trips,
  appointments, decisions made on a given day.
- PROCEDURAL: how the user does things or wants them done: workflows and their steps, rules for the assistant's
  answers, formats, tools and habits they follow.
- NONE: nothing personal worth keeping: greetings, small talk, general knowledge questions, one-off lookups.
If more than one kind fits, pick the one with the most lasting value to the user. Judge by what the user says; what
the assistant says counts only when the user confirms it. The conversation may be in any language.
Answer with JSON only, exactly this shape: {"type": "SEMANTIC", "reason": "one short sentence"}
where "type" is one of SEMANTIC, EPISODIC, PROCEDURAL, NONE.`;

/** The transcript both steps show: one `role: content` line per turn, as the engine builds it. */
export function transcript(turns: readonly ConversationTurn[]): string {
  return turns.map((t) => `${t.role}: ${t.content}`).join('\n');
}

/** Messages for the one classification call. */
export function classificationMessages(turns: readonly ConversationTurn[]): PromptMessage[] {
  return [
    { role: 'system', content: CLASSIFY_RULES },
    { role: 'user', content: `Conversation:\n${transcript(turns)}` },
  ];
}

const FOCUS: Record<ExtractableKind, string> = {
  SEMANTIC:
    'Keep lasting facts about the user: identity, likes and dislikes, relationships, work, skills, belongings and ' +
    'settled opinions. Leave out passing events and step-by-step instructions.',
  EPISODIC:
    'Keep what happened to the user or is planned: events, experiences, trips, appointments and decisions, each ' +
    'with its absolute date and, when known, the place and the people involved. Leave out general facts that do not ' +
    'belong to a moment.',
  PROCEDURAL:
    'Keep how the user does things or wants them done: the steps of their workflows (in order, in one fact when ' +
    'the order matters), rules for how the assistant should answer, formats, tools and habits.',
};

/**
 * The engine's extraction guidance for one kind. It repeats the language rule and, when the user writes mostly in
 * a non-Latin script, names that script: models tend to translate facts into the language of the instructions.
 */
export function extractionFocus(kind: ExtractableKind, turns: readonly ConversationTurn[]): string {
  const hint = scriptHint(turns.filter((t) => t.role === 'user').map((t) => t.content).join('\n'));
  const language = hint
    ? `Write every fact in the language of the user's messages (${hint}); never translate.`
    : "Write every fact in the language of the user's messages; never translate.";
  return `${FOCUS[kind]} ${language}`;
}

const SCRIPTS: Array<[string, RegExp]> = [
  ['Japanese', /[\p{Script=Hiragana}\p{Script=Katakana}]/gu],
  ['Korean', /\p{Script=Hangul}/gu],
  ['Chinese', /\p{Script=Han}/gu],
  ['Cyrillic script', /\p{Script=Cyrillic}/gu],
  ['Arabic script', /\p{Script=Arabic}/gu],
  ['Thai', /\p{Script=Thai}/gu],
];

/** Names the dominant non-Latin script of `text`, or undefined (Latin, mixed below a third, or empty). */
export function scriptHint(text: string): string | undefined {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  if (letters === 0) return undefined;
  // Japanese mixes kana with Han characters: any real share of kana makes it Japanese, not Chinese.
  const kana = text.match(SCRIPTS[0]![1])?.length ?? 0;
  if (kana / letters >= 0.1) return 'Japanese';
  for (const [name, pattern] of SCRIPTS.slice(1)) {
    const count = text.match(pattern)?.length ?? 0;
    if (count / letters >= 1 / 3) return name;
  }
  return undefined;
}

/** Metadata every extracted memory carries. Subtypes are lower case, as retention (jobs/forgetting) reads them. */
export function extractionMetadata(kind: ExtractableKind): { memory_subtype: string; memory_origin: 'implicit' } {
  return { memory_subtype: kind.toLowerCase(), memory_origin: 'implicit' };
}
