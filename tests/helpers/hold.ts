/**
 * An answer held back until the test lets it go: a fake waits on `released` before answering, so a call that ends
 * while the hold is on provably did not wait for it (no wall-clock bound needed). Release it in cleanup too.
 */
export interface Hold {
  /** Settles when `release()` is called. */
  readonly released: Promise<void>;
  release(): void;
}

export function hold(): Hold {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
}
