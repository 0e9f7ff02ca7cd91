/**
 * Our adapters for the provider SDKs whose `mem0ai` class we do not use (Gemini, Mistral, Bedrock, Cohere and
 * ZeroEntropy reranking): each says why on its class. providers.ts builds them; every call still goes through the
 * deadline guard of provider-calls.ts.
 * @module
 */
import type { ProviderRole } from '../shared/errors.js';
import type { GoogleGenAI as GeminiClient } from '@google/genai';
import type { Mistral as MistralClient } from '@mistralai/mistralai';
import type * as BedrockRuntime from '@aws-sdk/client-bedrock-runtime';
import type { CohereClient } from 'cohere-ai';
import type { ZeroEntropy as ZeroEntropyClient } from 'zeroentropy';
import type { MappedProvider } from './config/provider-config.js';
import type { ChatMessage, EmbedAction } from './model-types.js';
import { toEngineError } from './provider-calls.js';

/** The slice of `mem0ai`'s instances we call (our adapters have the same shape). */
export interface Mem0Llm {
  generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<unknown>;
}
export interface Mem0Embedder {
  embed(text: string, memoryAction?: EmbedAction): Promise<number[]>;
  embedBatch(texts: string[], memoryAction?: EmbedAction): Promise<number[][]>;
}
export interface Mem0Reranker {
  rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>>;
}

/** Gemini's generateContent the way Mem0 Python calls it: system messages as the system instruction. */
export class GeminiLlm implements Mem0Llm {
  constructor(
    private readonly client: unknown,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<string> {
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const contents = messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
    const { model, temperature, maxTokens, topP } = this.config;
    const response = await (this.client as GeminiClient).models.generateContent({
      model: String(model),
      contents,
      config: {
        temperature: typeof temperature === 'number' ? temperature : 0.1,
        maxOutputTokens: typeof maxTokens === 'number' ? maxTokens : 2000,
        ...(typeof topP === 'number' && { topP }),
        ...(system && { systemInstruction: system }),
        ...(responseFormat?.type === 'json_object' && { responseMimeType: 'application/json' }),
      },
    });
    return response.text ?? '';
  }
}

/** Mistral's chat completion in JSON mode, with the generation settings the block gives. */
export class MistralLlm implements Mem0Llm {
  constructor(
    private readonly client: unknown,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<string> {
    const { model, temperature, maxTokens, topP } = this.config;
    const response = await (this.client as MistralClient).chat.complete({
      model: String(model),
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      ...(typeof temperature === 'number' && { temperature }),
      ...(typeof maxTokens === 'number' && { maxTokens }),
      ...(typeof topP === 'number' && { topP }),
      ...(responseFormat?.type === 'json_object' && { responseFormat: { type: 'json_object' as const } }),
    });
    const content = response.choices?.[0]?.message?.content;
    if (typeof content === 'string') return content;
    return Array.isArray(content) ? content.map((chunk) => ('text' in chunk && typeof chunk.text === 'string' ? chunk.text : '')).join('') : '';
  }
}

export interface BedrockSdk {
  sdk: typeof BedrockRuntime;
  client: InstanceType<typeof BedrockRuntime.BedrockRuntimeClient>;
}

/** The Bedrock runtime client with the block's keys and region (never the machine's), our deadline, one attempt. */
export async function bedrock(role: ProviderRole, mapped: MappedProvider, timeoutMs: number, secrets: string[]): Promise<BedrockSdk> {
  const { config } = mapped;
  try {
    const sdk = await import('@aws-sdk/client-bedrock-runtime');
    const client = new sdk.BedrockRuntimeClient({
      region: String(config.awsRegion),
      credentials: {
        accessKeyId: String(config.awsAccessKeyId),
        secretAccessKey: String(config.awsSecretAccessKey),
        ...(typeof config.awsSessionToken === 'string' && { sessionToken: config.awsSessionToken }),
      },
      ...(typeof config.baseURL === 'string' && { endpoint: config.baseURL }),
      maxAttempts: 1,
      requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
    });
    return { sdk, client };
  } catch (error) {
    throw toEngineError(role, mapped.provider, error, secrets);
  }
}

/**
 * Bedrock's Converse API the way `mem0ai` and Mem0 Python call it (system prompts apart; topP left out for the
 * Anthropic and MiniMax families, which refuse it beside temperature). Ours because `mem0ai`'s rethrows every
 * failure as a new Error, losing the HTTP status.
 */
export class BedrockLlm implements Mem0Llm {
  constructor(
    private readonly bedrock: BedrockSdk,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[]): Promise<string> {
    const { model, temperature, maxTokens, topP } = this.config;
    const modelId = String(model);
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    const turns = messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: [{ text: m.content }] }));
    const family = /\b(anthropic|minimax)\b/.test(modelId);
    const response = await this.bedrock.client.send(
      new this.bedrock.sdk.ConverseCommand({
        modelId,
        messages: turns.length > 0 ? turns : [{ role: 'user', content: [{ text: '' }] }],
        ...(system && { system: [{ text: system }] }),
        inferenceConfig: {
          maxTokens: typeof maxTokens === 'number' ? maxTokens : 2000,
          temperature: typeof temperature === 'number' ? temperature : 0.1,
          ...(typeof topP === 'number' && !family && { topP }),
        },
      }),
    );
    const block = response.output?.message?.content?.find((b) => typeof b.text === 'string');
    return block?.text ?? '';
  }
}

/** Bedrock embeddings through InvokeModel: Titan (one text per call) and Cohere (batches, input types), as Mem0. */
export class BedrockEmbedder implements Mem0Embedder {
  constructor(
    private readonly bedrock: BedrockSdk,
    private readonly config: Record<string, unknown>,
  ) {}

  async embed(text: string, action?: EmbedAction): Promise<number[]> {
    const [vector] = await this.invoke([text], action);
    return vector ?? [];
  }

  async embedBatch(texts: string[], action?: EmbedAction): Promise<number[][]> {
    if (this.cohere) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += 96) out.push(...(await this.invoke(texts.slice(i, i + 96), action)));
      return out;
    }
    return Promise.all(texts.map((text) => this.embed(text, action)));
  }

  private get model(): string {
    return String(this.config.model);
  }

  private get cohere(): boolean {
    return this.model.startsWith('cohere.');
  }

  private async invoke(texts: string[], action?: EmbedAction): Promise<number[][]> {
    const dims = typeof this.config.embeddingDims === 'number' ? this.config.embeddingDims : undefined;
    const body = this.cohere
      ? {
          texts,
          input_type: action === 'search' ? 'search_query' : 'search_document',
          ...(this.model.includes('embed-v4') && { embedding_types: ['float'], ...(dims !== undefined && { output_dimension: dims }) }),
        }
      : { inputText: texts[0], ...(dims !== undefined && this.model.includes('titan-embed-text-v2') && { dimensions: dims }) };
    const response = await this.bedrock.client.send(
      new this.bedrock.sdk.InvokeModelCommand({ modelId: this.model, contentType: 'application/json', accept: 'application/json', body: new TextEncoder().encode(JSON.stringify(body)) }),
    );
    const payload = JSON.parse(new TextDecoder().decode(response.body)) as { embedding?: number[]; embeddings?: number[][] | { float?: number[][] } };
    if (this.cohere) return Array.isArray(payload.embeddings) ? payload.embeddings : (payload.embeddings?.float ?? []);
    return payload.embedding ? [payload.embedding] : [];
  }
}

/** Cohere's rerank endpoint with Mem0 Python's arguments (top_n, return_documents, max_chunks_per_doc). */
export class CohereReranker implements Mem0Reranker {
  constructor(
    private readonly client: CohereClient,
    private readonly model: string,
    private readonly topK: number | undefined,
    private readonly config: Record<string, unknown>,
  ) {}

  async rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>> {
    const { returnDocuments, maxChunksPerDoc } = this.config;
    const response = await this.client.rerank({
      model: this.model,
      query,
      documents,
      topN: topK ?? this.topK ?? documents.length,
      ...(typeof returnDocuments === 'boolean' && { returnDocuments }),
      ...(typeof maxChunksPerDoc === 'number' && { maxChunksPerDoc }),
    });
    return response.results.map((r) => ({ index: r.index, rerankScore: r.relevanceScore }));
  }
}

/** ZeroEntropy's rerank endpoint (it scores every document; we keep the best top_k). */
export class ZeroEntropyReranker implements Mem0Reranker {
  constructor(
    private readonly client: ZeroEntropyClient,
    private readonly model: string,
    private readonly topK: number | undefined,
  ) {}

  async rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>> {
    const response = await this.client.models.rerank({ model: this.model, query, documents });
    const scored = response.results.map((r) => ({ index: r.index, rerankScore: r.relevance_score })).sort((a, b) => b.rerankScore - a.rerankScore);
    const keep = topK ?? this.topK;
    return keep ? scored.slice(0, keep) : scored;
  }
}
