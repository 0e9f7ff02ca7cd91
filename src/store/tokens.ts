/**
 * Word terms for the keyword index. `Intl.Segmenter` (ICU, dictionary-based for Chinese, Japanese, Thai, …) splits
 * text into words, so "我喜欢寿司" becomes 我 / 喜欢 / 寿司 rather than one giant token as PostgreSQL's own parser would
 * give. Latin-script words are folded to their Snowball (Porter2) English stem, which also drops possessives
 * ("Jon's" → jon, "offering" → offer). The same function builds the stored tsvector and the query, so both sides
 * always agree; the query side also leaves out stopwords ({@link queryTerms}).
 * @module
 */
import { newStemmer } from 'snowball-stemmers';
import { eng, jpn, por, zho } from 'stopword';

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

const english = newStemmer('english');

/** Words made only of Latin letters, digits and inner apostrophes/hyphens get the English stemmer. */
const LATIN_WORD = /^[\p{Script=Latin}\p{N}'-]+$/u;

/**
 * Words a query leaves out: too common to tell memories apart. The languages the plugin speaks (English, Chinese,
 * Japanese, Portuguese) from the `stopword` package, plus English question words and pronouns its list lacks.
 */
const STOPWORDS: ReadonlySet<string> = new Set([
  ...eng, ...por, ...zho, ...jpn,
  'when', 'why', 'does', 'doing', 'done', 'whom', 'whose', 'let', 'tell', 'know', 'remember',
  'she', 'hers', 'herself', 'its', 'itself', 'yours', 'yourself', 'ours', 'ourselves', 'theirs', 'themselves', 'myself',
  // ICU keeps these Chinese function words whole, where the package lists their characters one by one.
  '什么', '哪里', '哪儿', '怎么', '怎样', '为什么', '我的', '你的', '他的', '她的', '我们', '你们', '他们', '她们',
  '这个', '那个', '这些', '那些', '一个', '没有', '可以', '因为', '所以', '但是', '还是', '就是', '已经',
]);

/**
 * Terms already worked out, by word. The stemmer costs 10–15 µs a word — most of an add's keyword tokens and of a
 * search's query terms (bench/store/cpu.ts) — and words repeat. Emptied when full, so memory stays bounded.
 */
const terms = new Map<string, string>();
const MAX_REMEMBERED_TERMS = 20_000;

/** The term a word is indexed under: lower case, typographic apostrophes folded, Latin words stemmed. */
function termOf(word: string): string {
  let term = terms.get(word);
  if (term === undefined) {
    const lower = word.toLowerCase().replace(/[\u2019\u02bc]/g, "'");
    term = LATIN_WORD.test(lower) ? english.stem(lower) : lower;
    if (terms.size >= MAX_REMEMBERED_TERMS) terms.clear();
    terms.set(word, term);
  }
  return term;
}

/** Words of `text` (NFKC, lower case) in order, each with its term, as the segmenter finds them. */
function* words(text: string): Generator<{ word: string; term: string }> {
  for (const piece of chunks(text.normalize('NFKC'))) {
    for (const part of segmenter.segment(piece)) {
      if (!part.isWordLike) continue;
      const word = part.segment.toLowerCase();
      if (word.length === 0 || word.length > MAX_TOKEN_LENGTH) continue;
      const term = termOf(word);
      if (term.length > 0) yield { word: word.replace(/[\u2019\u02bc]/g, "'"), term };
    }
  }
}

/** The distinct terms of `text` in order of first appearance (what the stored keyword column holds). */
export function wordTokens(text: string, limit = MAX_TOKENS): string[] {
  const seen = new Set<string>();
  for (const { term } of words(text)) {
    seen.add(term);
    if (seen.size >= limit) break;
  }
  return [...seen];
}

/** The distinct terms a search looks for: those of {@link wordTokens} without the stopwords. */
export function queryTerms(text: string, limit = MAX_TOKENS): string[] {
  const seen = new Set<string>();
  for (const { word, term } of words(text)) {
    if (STOPWORDS.has(word) || STOPWORDS.has(word.replace(/'s?$/, ''))) continue;
    seen.add(term);
    if (seen.size >= limit) break;
  }
  return [...seen];
}

/**
 * One term as a tsquery text: a quoted literal lexeme (quotes and backslashes escaped), so no input can inject
 * tsquery operators. Pass it as a parameter and cast with `::tsquery`.
 */
export function lexemeQuery(term: string): string {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** A tsquery text that ORs the terms ({@link lexemeQuery} each). Returns null when there is no term. */
export function tsqueryText(terms: readonly string[]): string | null {
  return terms.length === 0 ? null : terms.map(lexemeQuery).join(' | ');
}
