import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';

describe(BoundedQueue.name, () => {
  it('drops the oldest item when full and reports it', async () => {
    const dropped: number[] = [];
    const queue = new BoundedQueue<number>(2, (n) => dropped.push(n));
    for (const n of [1, 2, 3, 4]) queue.push(n);
    expect(dropped).toEqual([1, 2]);
    expect([await queue.shift(), await queue.shift()]).toEqual([3, 4]);
  });

  it('wakes a waiting consumer and ends after close once empty', async () => {
    const queue = new BoundedQueue<string>(3, () => undefined);
    const next = queue.shift();
    queue.push('a');
    expect(await next).toBe('a');
    queue.push('b');
    queue.close();
    expect(await queue.shift()).toBe('b');
    expect(await queue.shift()).toBeUndefined();
  });

  it('peek leaves the item for remove, which ignores an item already dropped', async () => {
    const queue = new BoundedQueue<number>(1, () => undefined);
    queue.push(1);
    expect(await queue.peek()).toBe(1);
    queue.push(2); // drops 1 while a consumer holds it
    queue.remove(1);
    expect(queue.length).toBe(1);
    queue.remove(2);
    expect(queue.length).toBe(0);
  });

  it('pushWhenRoom waits for the consumer instead of dropping', async () => {
    const dropped: number[] = [];
    const queue = new BoundedQueue<number>(1, (n) => dropped.push(n));
    await queue.pushWhenRoom(1);
    let second = false;
    const pushing = queue.pushWhenRoom(2).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    expect(await queue.shift()).toBe(1);
    await pushing;
    expect(await queue.shift()).toBe(2);
    expect(dropped).toEqual([]);
  });

  it('an item that shift took is the caller\'s own: a push before the caller resumes cannot drop it too', async () => {
    const dropped: number[] = [];
    const queue = new BoundedQueue<number>(1, (n) => dropped.push(n));
    queue.push(1);
    const taken = queue.shift();
    queue.push(2); // the queue holds 2 only: nothing to drop
    expect(await taken).toBe(1);
    expect(dropped).toEqual([]);
    expect(await queue.shift()).toBe(2);
  });
});
