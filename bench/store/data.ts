/**
 * Deterministic benchmark data: users, memory texts, metadata and "embeddings" that both systems receive unchanged.
 *
 * Vectors are seeded pseudo-random unit vectors with structure a real embedder also has: a pool of global topics,
 * each user writing about ten of them, and every memory (and query) = its topic's centre plus Gaussian noise of
 * about the same length, normalised. Memories of one topic have cosine ≈ 0.5 with each other and ≈ 0 with the rest,
 * so a query has real nearest neighbours inside the user's scope and — the hard case for post-filtering — many more
 * close neighbours in other users' scopes (other users write about the same topics).
 *
 * Memory m belongs to user m mod USERS and is that user's j-th memory, j = floor(m / USERS). Its metadata is
 * `{ topic: "t<j mod 10>", half: "a"|"b" (j mod 2) }`, so per user exactly a tenth of the rows share a topic and
 * half share a `half` value: the filtered-search queries know how many rows match without asking either system.
 */

export const TOPICS_PER_USER = 10;
const GLOBAL_TOPICS = 100;
const WORDS_PER_TOPIC = 8;

/** splitmix32: a small, fast, well-mixed 32-bit generator; `seed` picks the stream. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

function normalise(v: Float64Array): number[] {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  // Six decimals: what a JSON embedding API returns anyway; keeps the SQL text of a vector short.
  return Array.from(v, (x) => Math.round(x * inv * 1e6) / 1e6);
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'so', 'ta', 'vi', 'da', 'pe', 'gu', 'ho', 'zi', 'ba', 'fe', 'wu'];

function word(next: () => number): string {
  let w = '';
  const n = 2 + Math.floor(next() * 2);
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(next() * SYLLABLES.length)];
  return w;
}

/** A word that no other index shares (base-16 digits spelled as syllables), making every text unique. */
function uniqueWord(index: number): string {
  let w = '';
  let n = index;
  do {
    w += SYLLABLES[n % 16];
    n = Math.floor(n / 16);
  } while (n > 0);
  return `x${w}`;
}

export interface Memory {
  index: number;
  userId: string;
  text: string;
  vector: number[];
  metadata: { topic: string; half: string };
}

export interface Query {
  userId: string;
  text: string;
  vector: number[];
  /** Metadata filter values for filtered searches (each matches a known share of the user's rows). */
  topic: string;
  half: string;
}

export class Dataset {
  private readonly centres: Float64Array[];
  private readonly words: string[][];
  private readonly common: string[];

  constructor(
    readonly dims: number,
    readonly users: number,
    private readonly seed = 20_251_121,
  ) {
    const next = rng(seed);
    this.centres = Array.from({ length: GLOBAL_TOPICS }, () => {
      const c = new Float64Array(dims);
      for (let i = 0; i < dims; i++) c[i] = gaussian(next);
      let n = 0;
      for (const x of c) n += x * x;
      const inv = 1 / Math.sqrt(n);
      for (let i = 0; i < dims; i++) c[i]! *= inv;
      return c;
    });
    this.words = Array.from({ length: GLOBAL_TOPICS }, () => Array.from({ length: WORDS_PER_TOPIC }, () => word(next)));
    this.common = Array.from({ length: 40 }, () => word(next));
  }

  userId(u: number): string {
    return `user-${String(u).padStart(4, '0')}`;
  }

  /** The global topic a user's k-th topic is. */
  private globalTopic(u: number, k: number): number {
    return (u * 7 + k * 13) % GLOBAL_TOPICS;
  }

  private noisy(topic: number, next: () => number): number[] {
    const centre = this.centres[topic]!;
    const v = new Float64Array(this.dims);
    const sigma = 1 / Math.sqrt(this.dims);
    for (let i = 0; i < this.dims; i++) v[i] = centre[i]! + sigma * gaussian(next);
    return normalise(v);
  }

  memory(index: number): Memory {
    const u = index % this.users;
    const j = Math.floor(index / this.users);
    const k = j % TOPICS_PER_USER;
    const topic = this.globalTopic(u, k);
    const next = rng(this.seed ^ Math.imul(index + 1, 0x27d4eb2d));
    const tw = this.words[topic]!;
    const parts = ['user', 'mentioned'];
    for (let i = 0; i < 4; i++) parts.push(tw[Math.floor(next() * tw.length)]!);
    for (let i = 0; i < 2; i++) parts.push(this.common[Math.floor(next() * this.common.length)]!);
    parts.push(uniqueWord(index));
    return {
      index,
      userId: this.userId(u),
      text: parts.join(' '),
      vector: this.noisy(topic, next),
      metadata: { topic: `t${k}`, half: j % 2 === 0 ? 'a' : 'b' },
    };
  }

  /** `count` search queries over random users and their topics; texts are unique (they key the fake embedder). */
  queries(count: number, stream: number): Query[] {
    const next = rng(this.seed + 7919 * (stream + 1));
    const seen = new Set<string>();
    const out: Query[] = [];
    while (out.length < count) {
      const u = Math.floor(next() * this.users);
      const k = Math.floor(next() * TOPICS_PER_USER);
      const topic = this.globalTopic(u, k);
      const tw = this.words[topic]!;
      const text = `what about ${tw[Math.floor(next() * tw.length)]} ${tw[Math.floor(next() * tw.length)]} ${this.common[Math.floor(next() * this.common.length)]}`;
      const vector = this.noisy(topic, next);
      if (seen.has(text)) continue;
      seen.add(text);
      // The filter is independent of what the query is about: matching rows are often far from the query vector.
      const filterTopic = Math.floor(next() * TOPICS_PER_USER);
      out.push({ userId: this.userId(u), text, vector, topic: `t${filterTopic}`, half: next() < 0.5 ? 'a' : 'b' });
    }
    return out;
  }
}
