/**
 * Typed errors a tool run can end with. Each carries a translatable {@link Text}; which status it becomes is decided
 * in one place, `outcomeFromError` in result.ts. Services (memory/, jobs/) throw these; tools never catch them.
 * @module
 */
import { translate } from './i18n.js';
import type { Text } from './i18n.js';

/** Base class: `text` is rendered in the request's language, `message` is the English rendering for logs. */
export abstract class ToolError extends Error {
  readonly text: Text;

  constructor(text: Text, options?: { cause?: unknown }) {
    super(translate('en_US', text), options);
    this.text = text;
  }
}

/** One or more parameters are missing or malformed; `issues` names each parameter and its problem. */
export class ValidationError extends ToolError {
  override readonly name = 'ValidationError';
  readonly issues: readonly Text[];

  constructor(issues: readonly Text[]) {
    super(issues.length === 1 && issues[0] ? issues[0] : { key: 'param.several', params: { count: issues.length } });
    this.issues = issues;
  }
}

/** The thing asked for (a memory, a task, a checkpoint) does not exist. */
export class NotFoundError extends ToolError {
  override readonly name = 'NotFoundError';

  constructor(what: 'memory' | 'task' | 'checkpoint', id: string) {
    super({ key: `not_found.${what}`, params: { id } });
  }
}

/** Too much pending work: the request was refused and nothing was queued. */
export class OverloadError extends ToolError {
  override readonly name = 'OverloadError';

  constructor(pending: number, limit: number) {
    super({ key: 'error.overload', params: { pending, limit } });
  }
}

/** The operation did not finish within its time budget. */
export class TimeoutError extends ToolError {
  override readonly name = 'TimeoutError';

  constructor(seconds: number, options?: { cause?: unknown }) {
    super({ key: 'error.timeout', params: { seconds } }, options);
  }
}

/** A service we depend on (LLM, embedder, database, Dify API) failed. `detail` must never contain a secret. */
export class UpstreamError extends ToolError {
  override readonly name = 'UpstreamError';

  constructor(service: string, detail: string, options?: { cause?: unknown }) {
    super({ key: 'error.upstream', params: { service, detail } }, options);
  }
}

/** The parts of the engine a tool can depend on; each may be missing from a version. */
export type Feature = 'memory' | 'extraction' | 'checkpoint' | 'forgetting';

/** The feature behind a tool is not part of this version yet: an honest ERROR, never a pretend success. */
export class NotBuiltError extends ToolError {
  override readonly name = 'NotBuiltError';
  readonly feature: Feature;

  constructor(feature: Feature) {
    super({ key: `not_built.${feature}` });
    this.feature = feature;
  }
}
