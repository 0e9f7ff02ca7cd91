/**
 * Errors raised by the store. Each carries a string `code` so the service layer can map it to a tool status in one
 * place (validation → INVALID_PARAMS, not_found → NOT_FOUND, …). Messages never contain credentials or SQL text.
 * @module
 */

export type StoreErrorCode = 'validation' | 'not_found' | 'config' | 'migration' | 'unavailable';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** A filter document that cannot be compiled: the message names the key or operator at fault. */
export class FilterError extends StoreError {
  constructor(message: string) {
    super('validation', message);
    this.name = 'FilterError';
  }
}
