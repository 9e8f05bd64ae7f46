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
    while (this.items.length >= this.capacity) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    this.push(item);
  }

  /** The oldest item, waiting for one; undefined once the queue is closed and empty. */
  async peek(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.items[0];
  }

  /** Takes the oldest item, waiting for one; undefined once the queue is closed and empty. */
  async shift(): Promise<T | undefined> {
    const item = await this.peek();
    if (item !== undefined) this.remove(item);
    return item;
  }

  /** Removes `item` if it is still queued (it may have been dropped meanwhile). */
  remove(item: T): void {
    const index = this.items.indexOf(item);
    if (index >= 0) this.items.splice(index, 1);
    this.wakeProducer();
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
