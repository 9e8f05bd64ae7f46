/**
 * A FIFO joining two pipeline stages. It never blocks the producer: when full, it drops its oldest item
 * (reported through `onDrop`), so a stalled consumer (an upload outage) costs bounded memory and the
 * newest audio is kept for when the consumer comes back.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private roomWaiter: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly capacity: number,
    private readonly onDrop: (item: T) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) throw new Error('BoundedQueue: push after close');
    if (this.items.length === this.capacity) this.onDrop(this.items.shift()!);
    this.items.push(item);
    this.wake();
  }

  /** Adds an item once there is room, never dropping one: for producers that can wait (a file, not a sound card). */
  async pushWhenRoom(item: T): Promise<void> {
    await this.whenRoom();
    this.push(item);
  }

  /**
   * The oldest item, waiting for one; undefined once the queue is closed and empty. It stays queued: by the
   * time the caller looks at it, a full queue may have dropped it (use `shift` to own an item).
   */
  async peek(): Promise<T | undefined> {
    await this.#waitForItem();
    return this.items[0];
  }

  /**
   * Takes the oldest item, waiting for one; undefined once the queue is closed and empty. It leaves the
   * queue in the same turn as the call (or as the wait ends), so a push before the caller resumes cannot
   * drop it too: the caller owns it.
   */
  shift(): Promise<T | undefined> {
    if (this.items.length === 0 && !this.closed) return this.#waitForItem().then(() => this.shift());
    const item = this.items.shift();
    this.wakeProducer();
    return Promise.resolve(item);
  }

  async #waitForItem(): Promise<void> {
    while (this.items.length === 0 && !this.closed) await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** Removes `item` if it is still queued (it may have been dropped meanwhile). */
  remove(item: T): void {
    const index = this.items.indexOf(item);
    if (index >= 0) this.items.splice(index, 1);
    this.wakeProducer();
  }

  /** Resolves once there is room for an item (for a producer that must check something just before it pushes). */
  async whenRoom(): Promise<void> {
    while (this.items.length >= this.capacity) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
  }

  /** Takes every queued item at once, oldest first (to rework them: the station renumbering a run). */
  takeAll(): T[] {
    const items = this.items.splice(0);
    this.wakeProducer();
    return items;
  }

  /** The oldest item now, without waiting; undefined when empty. */
  peekNow(): T | undefined {
    return this.items[0];
  }

  /** Every queued item, oldest first (a copy). */
  peekAll(): T[] {
    return [...this.items];
  }

  /** Puts back an item taken with `takeAll` (reworked), as the newest; also after `close`, and never drops. */
  returnToBack(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** Puts an item taken with `shift` back at the head, as the oldest (it was not consumed after all); never drops. */
  returnToFront(item: T): void {
    this.items.unshift(item);
    this.wake();
  }

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** No more pushes: consumers get the remaining items, then undefined. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wakeProducer(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
