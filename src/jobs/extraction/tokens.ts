/**
 * The per-conversation token cap, counted with the real cl100k_base tokenizer (`js-tiktoken`). The rank table
 * (~1 MB of JavaScript) is imported on first use only, so starting the plugin or running tools that never extract
 * does not pay for parsing it. Only `js-tiktoken/lite` plus the one rank file are referenced, never the package's
 * main entry, which bundles every encoding (~5.6 MB).
 *
 * The cap keeps the newest messages: turns are taken from the newest backwards while they fit. When even the newest
 * message does not fit on its own, its beginning is kept (the user's words first, then as much of the answer as fits).
 * @module
 */
import type { DifyMessage } from './dify-client.js';

/** The shape the memory engine's `add` takes. */
export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface Tokenizer {
  count(text: string): number;
  /** The longest prefix of `text` with at most `maxTokens` tokens. */
  truncate(text: string, maxTokens: number): string;
}

interface TiktokenLike {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
  decode(tokens: number[]): string;
}

class Cl100k implements Tokenizer {
  constructor(private readonly encoding: TiktokenLike) {}

  // Text from users may contain "<|endoftext|>" and the like; it is plain text here, not a control token.
  #encode(text: string): number[] {
    return this.encoding.encode(text, [], []);
  }

  count(text: string): number {
    return text ? this.#encode(text).length : 0;
  }

  truncate(text: string, maxTokens: number): string {
    if (maxTokens <= 0) return '';
    const tokens = this.#encode(text);
    if (tokens.length <= maxTokens) return text;
    // A cut inside a multi-byte character decodes to U+FFFD; drop that partial character.
    return this.encoding.decode(tokens.slice(0, maxTokens)).replace(/\uFFFD+$/u, '');
  }
}

let loading: Promise<Tokenizer> | undefined;

/** The shared cl100k_base tokenizer, loaded on first call. */
export function loadTokenizer(): Promise<Tokenizer> {
  loading ??= (async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/cl100k_base')]);
    return new Cl100k(new Tiktoken(ranks.default));
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** `max_tokens_per_conversation` is given in thousands of tokens (64 → 64 000). */
export function tokenCap(maxTokensK: number): number {
  return Math.max(1, Math.trunc(maxTokensK)) * 1000;
}

/** A Dify message (one exchange) as engine turns; empty sides are left out. */
export function messageTurns(message: Pick<DifyMessage, 'query' | 'answer'>): ConversationTurn[] {
  const turns: ConversationTurn[] = [];
  if (message.query.trim()) turns.push({ role: 'user', content: message.query });
  if (message.answer.trim()) turns.push({ role: 'assistant', content: message.answer });
  return turns;
}

/** Tokens one turn costs in the transcript the engine builds (`role: content` per line). */
function turnTokens(turn: ConversationTurn, tokenizer: Tokenizer): number {
  return tokenizer.count(`${turn.role}: ${turn.content}\n`);
}

export function messageTokens(message: Pick<DifyMessage, 'query' | 'answer'>, tokenizer: Tokenizer): number {
  let total = 0;
  for (const turn of messageTurns(message)) total += turnTokens(turn, tokenizer);
  return total;
}

/** Message id → its token count; lets the paging budget and the cap share one count per message. */
export type TokenCounts = Map<string, number>;

function countOf(message: DifyMessage, tokenizer: Tokenizer, counts: TokenCounts | undefined): number {
  const known = counts?.get(message.id);
  if (known !== undefined) return known;
  const n = messageTokens(message, tokenizer);
  counts?.set(message.id, n);
  return n;
}

export interface CappedConversation {
  /** Turns to extract from, chronological. */
  turns: ConversationTurn[];
  /** Messages (whole or cut) that made it in. */
  keptMessages: number;
  /** Older messages left out. */
  droppedMessages: number;
  tokens: number;
  /** True when the newest message alone was over the cap and was cut. */
  truncated: boolean;
}

/** Keeps the newest messages (chronological in) whose transcript fits in `maxTokens`. */
export function capNewest(
  messages: readonly DifyMessage[],
  maxTokens: number,
  tokenizer: Tokenizer,
  counts?: TokenCounts,
): CappedConversation {
  const kept: ConversationTurn[][] = [];
  let tokens = 0;
  let truncated = false;
  for (let i = messages.length - 1; i >= 0; i--) {
    const turns = messageTurns(messages[i]!);
    if (turns.length === 0) continue;
    const cost = countOf(messages[i]!, tokenizer, counts);
    if (tokens + cost <= maxTokens) {
      kept.push(turns);
      tokens += cost;
      continue;
    }
    if (kept.length === 0) {
      const cut = cutToFit(turns, maxTokens, tokenizer);
      kept.push(cut.turns);
      tokens += cut.tokens;
      truncated = true;
    }
    break;
  }
  const keptMessages = kept.length;
  const nonEmpty = messages.filter((m) => messageTurns(m).length > 0).length;
  return { turns: kept.reverse().flat(), keptMessages, droppedMessages: nonEmpty - keptMessages, tokens, truncated };
}

function cutToFit(turns: ConversationTurn[], maxTokens: number, tokenizer: Tokenizer): { turns: ConversationTurn[]; tokens: number } {
  const out: ConversationTurn[] = [];
  let left = maxTokens;
  for (const turn of turns) {
    const overhead = tokenizer.count(`${turn.role}: \n`);
    if (left <= overhead) break;
    let budget = left - overhead;
    let content = tokenizer.truncate(turn.content, budget);
    let cost = turnTokens({ role: turn.role, content }, tokenizer);
    // Tokens can merge across the "role: " prefix and the cut; shave until the line really fits.
    while (content && cost > left) {
      budget -= cost - left;
      content = tokenizer.truncate(turn.content, budget);
      cost = turnTokens({ role: turn.role, content }, tokenizer);
    }
    if (!content) break;
    out.push({ role: turn.role, content });
    left -= cost;
  }
  return { turns: out, tokens: maxTokens - left };
}

/**
 * A running total for `readNewMessages`' `enough`: fed each page's new messages newest first, it says when the cap
 * is full, so older pages (which the cap would drop) are not requested.
 */
export function tokenBudget(
  maxTokens: number,
  tokenizer: Tokenizer,
  counts?: TokenCounts,
): (newestFirst: readonly DifyMessage[]) => boolean {
  let used = 0;
  return (newestFirst) => {
    for (const message of newestFirst) {
      used += countOf(message, tokenizer, counts);
      if (used >= maxTokens) return true;
    }
    return false;
  };
}
