/**
 * Re-chunks a byte stream (stdin, a sound card) at frame boundaries: each yielded buffer holds whole
 * frames only, and a frame split across chunks is carried into the next one.
 */
export async function* wholeFrames(chunks: AsyncIterable<Buffer>, frameBytes: number): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = bytes.length - (bytes.length % frameBytes);
    carry = Buffer.from(bytes.subarray(whole));
    if (whole > 0) yield bytes.subarray(0, whole);
  }
}
