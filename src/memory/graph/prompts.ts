/**
 * The graph memory's prompts (our own wording). Two asks: the entities and relations a conversation states, then,
 * only when the user's graph already holds relations around those entities, which of them the new ones contradict.
 * Stored relations reach the LLM under small integer ids; reconcile.ts maps them back and rejects any other id.
 * @module
 */
import type { ConversationTurn } from '../prompts.js';
import type { ChatMessage } from '../providers.js';

const EXTRACTION_RULES = `You build a knowledge graph of a user's world from their conversations with an assistant.
List the entities the conversation talks about and the relations between them that it states as true.
Rules:
- An entity is a person, place, organisation, object, event, idea or the like. Give its name and a one-word type
  (person, place, organisation, food, pet, event, ...).
- A relation links two listed entities: {"source", "relationship", "destination"}, e.g.
  {"source": "anna", "relationship": "lives_in", "destination": "shanghai"}. Relationships are short, present tense,
  lower case with underscores.
- The user is the entity USER_NAME: use that name whenever the user says I, me, my or mine.
- Name people and things as the conversation does; keep every name in its own language and script (never translate).
- Only what the user states or confirms; skip questions, guesses and small talk.
- Nothing to record: empty lists.
Answer with JSON only, exactly this shape:
{"entities": [{"name": "...", "type": "..."}], "relations": [{"source": "...", "relationship": "...", "destination": "..."}]}`;

export function graphExtractionMessages(turns: ConversationTurn[], userName: string, customPrompt?: string): ChatMessage[] {
  const extra = customPrompt ? `\nAlso: ${customPrompt}` : '';
  const transcript = turns.map((t) => `${t.role}: ${t.content}`).join('\n');
  return [
    { role: 'system', content: `${EXTRACTION_RULES.replace('USER_NAME', JSON.stringify(userName))}${extra}` },
    { role: 'user', content: `Conversation:\n${transcript}` },
  ];
}

const RECONCILE_RULES = `You keep a user's knowledge graph true. You get relations already stored (each with a numeric
id) and relations just learned. List the ids of stored relations that the new ones show to be no longer true: for
example "anna lives_in shanghai" when "anna lives_in beijing" is new and a person lives in one city, or "user likes
coffee" when the user now says they dislike coffee.
Rules:
- Only contradictions: a stored relation that merely differs, adds detail, or can be true together with the new
  ones stays.
- Use only ids from the stored list.
Answer with JSON only, exactly this shape: {"delete": [0, 3]}  (an empty list when nothing is contradicted)`;

export interface HandledRelation {
  handle: number;
  source: string;
  relationship: string;
  destination: string;
}

export function graphReconcileMessages(
  stored: HandledRelation[], learned: Array<{ source: string; relationship: string; destination: string }>,
): ChatMessage[] {
  const line = (r: { source: string; relationship: string; destination: string }) => `${r.source} -- ${r.relationship} --> ${r.destination}`;
  return [
    { role: 'system', content: RECONCILE_RULES },
    {
      role: 'user',
      content: `Stored relations:\n${stored.map((r) => `${r.handle}: ${line(r)}`).join('\n')}\n\nNew relations:\n${learned.map(line).join('\n')}`,
    },
  ];
}
