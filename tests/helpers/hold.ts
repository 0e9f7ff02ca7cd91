/**
 * An answer held back until the test lets it go: a fake waits on `released` before answering, so a caller that
 * answers while the hold is on provably did not wait for it (no wall-clock bound needed). Release it in cleanup too.
 */
export interface Hold {
  /** Settles when `release()` is called. */
  readonly released: Promise<void>;
  /** Whether `release()` was called. */
  readonly isReleased: boolean;
  release(): void;
}

export function hold(): Hold {
  let release!: () => void;
  let isReleased = false;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    released,
    get isReleased() {
      return isReleased;
    },
    release() {
      isReleased = true;
      release();
    },
  };
}
