/**
 * The tool layer's own errors (bad parameters, the call's timeout, a feature not built). Each carries a translatable
 * {@link Text}; which status it becomes is decided in one place, `outcomeFromError` in result.ts, beside the engine's
 * one error class (src/shared/errors.ts) that memory/ and jobs/ throw.
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

/** The operation did not finish within its time budget. */
export class TimeoutError extends ToolError {
  override readonly name = 'TimeoutError';

  constructor(seconds: number, options?: { cause?: unknown }) {
    super({ key: 'error.timeout', params: { seconds } }, options);
  }
}

/** The parts of the engine a tool can depend on; each may be missing from a version. */
export type Feature = 'memory' | 'extraction' | 'checkpoint' | 'forgetting' | 'transfer';

/** The feature behind a tool is not part of this version yet: an honest ERROR, never a pretend success. */
export class NotBuiltError extends ToolError {
  override readonly name = 'NotBuiltError';
  readonly feature: Feature;

  constructor(feature: Feature) {
    super({ key: `not_built.${feature}` });
    this.feature = feature;
  }
}
