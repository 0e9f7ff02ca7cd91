/**
 * The scripted model of the graph tests (tools and built bundle): facts are the user's sentences (plainModel); a
 * sentence of exactly three words is the relation "source relationship destination"; a new "x lives_in y"
 * contradicts a stored "x lives_in z"; extraction's classification calls every conversation SEMANTIC.
 */
import type { ChatRequestBody, FakeOpenAI } from '../helpers/fake-openai.js';
import { plainAnswer } from './app.js';

const EXTRACT = 'You build a knowledge graph';
const RECONCILE = "You keep a user's knowledge graph true";
const CLASSIFY = 'You sort a conversation';

/** Answers every prompt of an add with a graph store (see the module comment). */
export function graphModel(fake: FakeOpenAI): void {
  fake.onChat(graphAnswer);
}

/** Whether a request is one of the graph's own prompts (extraction or contradiction). */
export function isGraphPrompt(body: ChatRequestBody): boolean {
  const system = body.messages[0]?.content ?? '';
  return system.startsWith(EXTRACT) || system.startsWith(RECONCILE);
}

/** {@link graphModel}'s answer to one request. */
export function graphAnswer(body: ChatRequestBody): string {
  const system = body.messages[0]?.content ?? '';
  const user = body.messages[1]?.content ?? '';
  if (system.startsWith(EXTRACT)) {
    const said = user.split('\n').filter((l) => l.startsWith('user: ')).map((l) => l.slice('user: '.length));
    const relations = said
      .flatMap((s) => s.split(/(?<=[.!?。])\s*/))
      .map((s) => s.replace(/[.!?。]$/, '').trim().split(/\s+/))
      .filter((words) => words.length === 3)
      .map(([source, relationship, destination]) => ({ source, relationship, destination }));
    return JSON.stringify({ entities: [], relations });
  }
  // Extraction from Dify conversations first sorts each one: here every conversation holds facts about the user.
  if (system.startsWith(CLASSIFY)) return JSON.stringify({ type: 'SEMANTIC', reason: 'facts about the user' });
  if (system.startsWith(RECONCILE)) {
    const [storedPart = '', newPart = ''] = user.split('\n\nNew relations:\n');
    const stored = storedPart.split('\n').map((l) => /^(\d+): (.+) -- (.+) --> (.+)$/.exec(l)).filter((m) => m !== null);
    const fresh = newPart.split('\n').map((l) => /^(.+) -- (.+) --> (.+)$/.exec(l)).filter((m) => m !== null);
    const contradicted = stored.filter((s) => s[3] === 'lives_in' && fresh.some((f) => f[1] === s[2] && f[2] === 'lives_in' && f[3] !== s[4]));
    return JSON.stringify({ delete: contradicted.map((s) => Number(s[1])) });
  }
  return plainAnswer(system, user);
}

/** How many graph prompts (extraction or contradiction) the fake received. */
export function graphCalls(fake: FakeOpenAI): number {
  return fake.chatCalls().filter(isGraphPrompt).length;
}

