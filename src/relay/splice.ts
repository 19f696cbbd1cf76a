/**
 * Splices two streams: bytes both ways with backpressure (pipe pauses the source while the other
 * side's writable is full, so a slow reader holds at most its window plus one high-water mark),
 * half-close passes through (FIN -> end), and a reset on one side resets the other with the same
 * code. Bytes are forwarded as they are: the relay never parses or changes them.
 */
import type { Duplex } from 'node:stream'
import { isTunnelError } from '../errors.ts'
import { ResetCode } from '../mux/wire.ts'

interface Resettable extends Duplex {
  reset?(code?: number, reason?: string): void
  /** The reason its peer sent with a RESET (MuxStream). */
  resetReason?: string
}

export interface SpliceCounters {
  /** Bytes from a to b, and from b to a. */
  ab: number
  ba: number
}

/** Resolves when both sides are closed, with the byte counts. */
export function splice(a: Resettable, b: Resettable): Promise<SpliceCounters> {
  const counters: SpliceCounters = { ab: 0, ba: 0 }
  a.on('data', (d: Buffer) => (counters.ab += d.length))
  b.on('data', (d: Buffer) => (counters.ba += d.length))
  a.pipe(b)
  b.pipe(a)
  const propagate = (from: Resettable, to: Resettable) => (err: Error) => {
    if (to.destroyed) return
    const code =
      isTunnelError(err, 'TUN_ERR_STREAM_RESET') && err.wireCode !== undefined
        ? err.wireCode
        : ResetCode.CANCEL
    // Pass the peer's own reason on unchanged: the relay adds nothing to what the peers say.
    if (typeof to.reset === 'function') to.reset(code, from.resetReason ?? '')
    else to.destroy()
    from.unpipe(to)
  }
  a.on('error', propagate(a, b))
  b.on('error', propagate(b, a))
  const closed = (s: Duplex) =>
    new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))
  // A side destroyed without an error (close() of its link): take the other down too.
  a.once('close', () => !b.destroyed && !a.readableEnded && b.destroy())
  b.once('close', () => !a.destroyed && !b.readableEnded && a.destroy())
  return Promise.all([closed(a), closed(b)]).then(() => counters)
}
