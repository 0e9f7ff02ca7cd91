/**
 * The interfaces of the three model kinds (LLM, embedder, reranker) and the message and action types every model
 * adapter speaks (providers.ts for provider blocks, workspace-models.ts for the workspace's models), kept apart so
 * neither adapter module imports the other's factory.
 * @module
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type EmbedAction = 'add' | 'update' | 'search';

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface Llm {
  readonly provider: string;
  /** Asks for a JSON object (`response_format: json_object`) and returns the raw text of the answer. */
  completeJson(messages: ChatMessage[], options?: CallOptions): Promise<string>;
}

export interface Embedder {
  readonly provider: string;
  /** The configured `embedding_dims`, when the user set one. */
  readonly dims: number | undefined;
  embed(text: string, action: EmbedAction, options?: CallOptions): Promise<number[]>;
  embedBatch(texts: string[], action: EmbedAction, options?: CallOptions): Promise<number[][]>;
}

export interface RerankScore {
  /** Index into the documents passed in. */
  index: number;
  /** 0–1 relevance. */
  score: number;
}

export interface Reranker {
  readonly provider: string;
  rerank(query: string, documents: string[], topK?: number, options?: CallOptions): Promise<RerankScore[]>;
}
