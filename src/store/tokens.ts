/**
 * Word tokens for the keyword index. `Intl.Segmenter` (ICU, dictionary-based for Chinese, Japanese, Thai, …) splits
 * text into words, so "我喜欢寿司" becomes 我 / 喜欢 / 寿司 rather than one giant token as PostgreSQL's own parser would
 * give. The same function builds the stored tsvector and the query, so both sides always agree.
 * @module
 */

// No locale: ICU's root rules plus its CJK dictionaries, the same result on every machine whatever LANG says.
const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** Longest token kept; longer "words" (hashes, base64) are noise for keyword search and bloat the index. */
const MAX_TOKEN_LENGTH = 64;
/** Cap per text so a huge memory cannot make a huge tsvector (PostgreSQL limits a tsvector to 1 MB). */
const MAX_TOKENS = 2048;

/** Text is segmented in pieces of about this many characters: V8's segmenter slows down more than linearly on long inputs. */
const CHUNK_CHARS = 2_000;
/** Characters scanned at most; past the token cap nothing more is learned, and this bounds the work for huge texts. */
const MAX_SCANNED_CHARS = 200_000;

/** Splits at whitespace near the chunk size when there is some, so few words are cut in two. */
function* chunks(text: string): Generator<string> {
  let start = 0;
  let end = text.length;
  if (end > MAX_SCANNED_CHARS) {
    const space = text.lastIndexOf(' ', MAX_SCANNED_CHARS);
    end = space > MAX_SCANNED_CHARS / 2 ? space : MAX_SCANNED_CHARS;
  }
  while (start < end) {
    let stop = Math.min(start + CHUNK_CHARS, end);
    if (stop < end) {
      const space = text.lastIndexOf(' ', stop);
      if (space > start + CHUNK_CHARS / 2) stop = space + 1;
    }
    yield text.slice(start, stop);
    start = stop;
  }
}

/**
 * Lower-cased, NFKC-normalised word tokens of `text` in order of first appearance, without duplicates,
 * punctuation or whitespace.
 */
export function wordTokens(text: string, limit = MAX_TOKENS): string[] {
  const seen = new Set<string>();
  for (const piece of chunks(text.normalize('NFKC'))) {
    for (const part of segmenter.segment(piece)) {
      if (!part.isWordLike) continue;
      const token = part.segment.toLowerCase();
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) continue;
      seen.add(token);
      if (seen.size >= limit) return [...seen];
    }
  }
  return [...seen];
}

/**
 * A tsquery text that ORs the tokens, each quoted as a literal lexeme (quotes and backslashes escaped), so no input
 * can inject tsquery operators. Pass it as a parameter and cast with `::tsquery`. Returns null when there is no word.
 */
export function tsqueryText(tokens: readonly string[]): string | null {
  if (tokens.length === 0) return null;
  return tokens.map((t) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(' | ');
}
