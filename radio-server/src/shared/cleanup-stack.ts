/**
 * Resources to release, in the reverse order they were acquired (a small DisposableStack, which Node 20
 * lacks). `release` runs every cleanup even when one throws, and reports the first failure.
 */
export class CleanupStack {
  readonly #cleanups: (() => unknown)[] = [];

  /** Registers `cleanup` and returns `resource`, so that acquiring and registering are one expression. */
  use<T>(resource: T, cleanup: (resource: T) => unknown): T {
    this.#cleanups.push(() => cleanup(resource));
    return resource;
  }

  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  async release(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}
