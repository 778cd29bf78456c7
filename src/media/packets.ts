/**
 * A walk of packets whose index is in memory never lets the event loop run: a hostile sample table
 * (a few bytes may declare billions of packets) would hold the step past its deadline and deaf to
 * a cancellation. This one gives the loop a turn every so often and stops when the signal aborts.
 */
import type { EncodedPacket } from 'mediabunny';

/** Packets between two turns of the event loop. */
const TURN_EVERY = 1024;

export async function* withTurns(
  packets: AsyncIterable<EncodedPacket>,
  signal: AbortSignal | undefined,
): AsyncGenerator<EncodedPacket> {
  let count = 0;
  for await (const packet of packets) {
    if (++count % TURN_EVERY === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
    yield packet;
  }
}
