// Type declarations for the two text packages the keyword index uses; neither ships its own.

declare module 'snowball-stemmers' {
  export interface Stemmer {
    stem(word: string): string;
  }
  /** A Snowball stemmer by algorithm name ('english', 'portuguese', …). */
  export function newStemmer(algorithm: string): Stemmer;
  export function algorithms(): string[];
}

declare module 'stopword' {
  /** Stopword lists by ISO 639-3 code. */
  export const eng: string[];
  export const por: string[];
  export const zho: string[];
  export const jpn: string[];
}
