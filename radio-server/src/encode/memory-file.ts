import type { FlacSink } from './flac-stream.js';

/** A growable in-memory file with a position, for encoders that seek back to rewrite their headers. */
export class MemoryFile implements FlacSink {
  private buffer = Buffer.alloc(0);
  private length = 0;
  position = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  write(chunk: Uint8Array): void {
    const end = this.position + chunk.length;
    if (end > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    if (this.position > this.length) this.buffer.fill(0, this.length, this.position);
    this.buffer.set(chunk, this.position);
    this.position = end;
    this.length = Math.max(this.length, end);
  }

  /** Empties the file, keeping its buffer when it holds `capacity` bytes. */
  reset(capacity: number): void {
    if (this.buffer.length < capacity) this.buffer = Buffer.allocUnsafe(capacity);
    this.length = 0;
    this.position = 0;
  }

  /** The file's bytes (a copy, so the file may be reused). */
  contents(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}
