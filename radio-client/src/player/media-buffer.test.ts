import { describe, expect, it, vi } from 'vitest';
import { MediaBuffer, UPDATE_TIMEOUT_MS, type MediaSourceLike, type SourceBufferLike } from './media-buffer.ts';

/** Bytes the fake refuses, as a browser refuses what it cannot parse. */
const UNREADABLE = new ArrayBuffer(3);
/** Bytes the fake starts appending and never finishes with. */
const ENDLESS = new ArrayBuffer(998);
/** Bytes the fake takes without a complaint and without buffering anything (Firefox with a moof it cannot read). */
const EMPTY = new ArrayBuffer(999);

/** A SourceBuffer stand-in that logs what it is asked and keeps the append window rules of MSE. */
class FakeSourceBuffer extends EventTarget implements SourceBufferLike {
  readonly log: string[] = [];
  updating = false;
  /** What is buffered: fragments (1000 bytes and more) fill their append window. */
  ranges: Array<[number, number]> = [];
  #start = 0;
  #end = Infinity;
  changeType?: (type: string) => void = (type) => this.log.push(`changeType ${type}`);

  get buffered(): TimeRanges {
    const ranges = this.ranges;
    return { length: ranges.length, start: (i: number) => ranges[i]![0], end: (i: number) => ranges[i]![1] } as TimeRanges;
  }

  get appendWindowStart() {
    return this.#start;
  }
  set appendWindowStart(value: number) {
    if (value >= this.#end) throw new DOMException('start must be before end', 'InvalidAccessError');
    this.#start = value;
  }
  get appendWindowEnd() {
    return this.#end;
  }
  set appendWindowEnd(value: number) {
    if (value <= this.#start) throw new DOMException('end must be after start', 'InvalidAccessError');
    this.#end = value;
  }

  appendBuffer(data: ArrayBuffer): void {
    if (this.updating) throw new DOMException('still updating', 'InvalidStateError');
    this.log.push(`append ${data.byteLength} bytes in [${this.#start}, ${this.#end}]`);
    if (data.byteLength >= 1000) this.#add(this.#start, this.#end);
    if (data === ENDLESS) this.updating = true;
    else this.#finish(data === UNREADABLE);
  }

  remove(start: number, end: number): void {
    this.log.push(`remove [${start}, ${end}]`);
    this.ranges = this.ranges.flatMap(([s, e]): Array<[number, number]> => (e <= start || s >= end ? [[s, e]] : [...(s < start ? [[s, start] as [number, number]] : []), ...(e > end ? [[end, e] as [number, number]] : [])]));
    this.#finish(false);
  }

  #add(start: number, end: number): void {
    const ranges = [...this.ranges, [start, end] as [number, number]].sort((a, b) => a[0] - b[0]);
    this.ranges = [];
    for (const [s, e] of ranges) {
      const last = this.ranges.at(-1);
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else this.ranges.push([s, e]);
    }
  }

  #finish(failed: boolean): void {
    this.updating = true;
    setTimeout(() => {
      this.updating = false;
      if (failed) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(new Event('updateend'));
    }, 1);
  }
}

class FakeMediaSource extends EventTarget implements MediaSourceLike {
  readyState: 'closed' | 'open' = 'closed';
  readonly buffers: Array<{ type: string; buffer: FakeSourceBuffer }> = [];
  addSourceBuffer(type: string): FakeSourceBuffer {
    const buffer = new FakeSourceBuffer();
    this.buffers.push({ type, buffer });
    return buffer;
  }
  open(): void {
    this.readyState = 'open';
    this.dispatchEvent(new Event('sourceopen'));
  }
}

async function opened() {
  const source = new FakeMediaSource();
  const buffer = await MediaBuffer.open(source, () => setTimeout(() => source.open(), 1), new AbortController().signal);
  return { source, buffer };
}

const HQ = 'audio/mp4; codecs="fLaC"';
const LQ = 'audio/mp4; codecs="Opus"';
const init = new ArrayBuffer(100);
const fragment = new ArrayBuffer(1000);

describe(MediaBuffer.name, () => {
  it('appends the init once per run, then each fragment inside the window of its samples', async () => {
    const { source, buffer } = await opened();
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 20, end: 22 } });
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 22, end: 24 } });
    // Windows that move backwards (a new MediaSource's first segment) are set in a valid order too.
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 2, end: 4 } });
    expect(source.buffers.map((b) => b.type)).toEqual([HQ]);
    expect(source.buffers[0]!.buffer.log).toEqual([
      'append 100 bytes in [0, Infinity]',
      'append 1000 bytes in [20, 22]',
      'append 1000 bytes in [22, 24]',
      'append 1000 bytes in [2, 4]',
    ]);
  });

  it("appends a new run's init before its first fragment", async () => {
    const { source, buffer } = await opened();
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 20, end: 22 } });
    await buffer.append({ type: HQ, initId: 'hq/init-30', init, fragment, window: { start: 60, end: 62 } });
    expect(source.buffers[0]!.buffer.log.filter((l) => l.startsWith('append 100 '))).toHaveLength(2);
  });

  it("switches streams with changeType, then appends the other stream's init", async () => {
    const { source, buffer } = await opened();
    await buffer.append({ type: LQ, initId: 'lq/init-1', init, fragment, window: { start: 20, end: 22 } });
    expect(buffer.accepts(HQ)).toBe(true);
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 22, end: 24 } });
    expect(source.buffers[0]!.buffer.log).toEqual([
      'append 100 bytes in [0, Infinity]',
      'append 1000 bytes in [20, 22]',
      `changeType ${HQ}`,
      'append 100 bytes in [0, Infinity]',
      'append 1000 bytes in [22, 24]',
    ]);
  });

  it('does not accept the other stream where changeType is missing', async () => {
    const { source, buffer } = await opened();
    await buffer.append({ type: LQ, initId: 'lq/init-1', init, fragment, window: { start: 20, end: 22 } });
    delete source.buffers[0]!.buffer.changeType;
    expect(buffer.accepts(LQ)).toBe(true);
    expect(buffer.accepts(HQ)).toBe(false);
  });

  it('rejects with a MediaAppendError when the browser cannot read the bytes, and runs later operations', async () => {
    const { source, buffer } = await opened();
    await expect(buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment: UNREADABLE, window: { start: 20, end: 22 } })).rejects.toMatchObject({ name: 'MediaAppendError', fatal: true });
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 22, end: 24 } });
    expect(source.buffers[0]!.buffer.log.at(-1)).toBe('append 1000 bytes in [22, 24]');
  });

  it('rejects with a MediaAppendError that leaves the buffer usable when the browser took the bytes but buffered nothing', async () => {
    const { source, buffer } = await opened();
    const empty = buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment: EMPTY, window: { start: 20, end: 22 } });
    await expect(empty).rejects.toMatchObject({ name: 'MediaAppendError', fatal: false, message: 'the browser found no audio in it' });
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 22, end: 24 } });
    expect(source.buffers[0]!.buffer.ranges).toEqual([[22, 24]]);
  });

  it('gives up on an append the browser never finishes', async () => {
    vi.useFakeTimers();
    try {
      const source = new FakeMediaSource();
      const opening = MediaBuffer.open(source, () => source.open(), new AbortController().signal);
      const buffer = await opening;
      const append = buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment: ENDLESS, window: { start: 20, end: 22 } });
      const rejected = expect(append).rejects.toMatchObject({ name: 'MediaAppendError', fatal: true, message: 'the browser did not finish appending within 10 s' });
      await vi.advanceTimersByTimeAsync(UPDATE_TIMEOUT_MS + 10);
      await rejected;
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs operations one after another, never while the SourceBuffer updates', async () => {
    const { source, buffer } = await opened();
    await buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 20, end: 22 } });
    const sb = source.buffers[0]!.buffer;
    // The fake throws when asked to do anything while updating.
    await Promise.all([
      buffer.append({ type: HQ, initId: 'hq/init-1', init, fragment, window: { start: 22, end: 24 } }),
      buffer.removeBefore(21),
      buffer.removeBefore(10),
    ]);
    expect(sb.log.slice(2)).toEqual(['append 1000 bytes in [22, 24]', 'remove [0, 21]']);
  });

  it('gives up waiting for the source to open when aborted', async () => {
    const controller = new AbortController();
    const opening = MediaBuffer.open(new FakeMediaSource(), () => controller.abort(new DOMException('stopped', 'AbortError')), controller.signal);
    await expect(opening).rejects.toMatchObject({ name: 'AbortError' });
  });
});
