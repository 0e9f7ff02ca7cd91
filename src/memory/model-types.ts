/**
 * The message and action types every model adapter speaks (providers.ts for provider blocks, workspace-models.ts
 * for the workspace's models), kept apart so neither adapter module imports the other's factory.
 * @module
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type EmbedAction = 'add' | 'update' | 'search';
