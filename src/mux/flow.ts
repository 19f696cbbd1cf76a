/**
 * Receive-side credit for one stream (pure arithmetic, no I/O), with window auto-tuning.
 *
 * The receiver grants `window` bytes at open. As its reader consumes, the consumed bytes are
 * returned to the sender in WINDOW frames, batched: one frame per UPDATE_FRACTION of the window.
 * So a reader that stops reading stops the sender after at most `window` bytes, and the bytes the
 * receiver holds for the stream never exceed `window` (invariant: credit + buffered + unreturned
 * = window).
 *
 * Auto-tuning (quic-go's rule, also in rust-yamux): a fixed window caps a stream at window / RTT
 * (1 MiB over 50 ms is 20 MB/s). At each update, if the bytes being returned were consumed at a
 * rate that would empty the whole window in under AUTOTUNE_RTTS round trips, the window is the
 * bottleneck, so it doubles (the increase rides on the same WINDOW frame), up to `max`. A stream
 * that is read slowly, or not at all, never grows.
 */

/** Send a WINDOW once this fraction of the window has been consumed and not yet returned. */
export const UPDATE_FRACTION = 1 / 4
/** Grow the window when it would be consumed in under this many RTTs. */
export const AUTOTUNE_RTTS = 2

export class ReceiveWindow {
  /** Current window size (grows with auto-tuning, never shrinks). */
  window: number
  /** Bytes the peer may still send, as this side counts them. */
  credit: number
  /** Bytes consumed by the reader and not yet returned in a WINDOW frame. */
  unreturned = 0
  private readonly max: number
  private epochStart: number

  constructor(initial: number, max: number, now: number) {
    this.window = initial
    this.credit = initial
    this.max = Math.max(max, initial)
    this.epochStart = now
  }

  /** The peer sent `n` bytes. False when that is more than its credit: a FLOW_CONTROL violation. */
  receive(n: number): boolean {
    if (n > this.credit) return false
    this.credit -= n
    return true
  }

  /** The reader consumed `n` more bytes. True when a WINDOW update is due (then call grant()). */
  consume(n: number): boolean {
    this.unreturned += n
    return this.unreturned >= this.window * UPDATE_FRACTION
  }

  /**
   * Returns the increment to send in a WINDOW frame now: the unreturned bytes, plus the growth
   * when auto-tuning doubles the window. `rtt` undefined (not measured yet) means no tuning.
   */
  grant(now: number, rtt: number | undefined): number {
    let increment = this.unreturned
    if (rtt !== undefined && this.window < this.max) {
      const elapsed = now - this.epochStart
      // Consumed unreturned/window of the window in `elapsed`: the whole window would take
      // elapsed * window / unreturned. Compare with AUTOTUNE_RTTS round trips.
      if (elapsed * this.window < AUTOTUNE_RTTS * rtt * this.unreturned) {
        const growth = Math.min(this.window, this.max - this.window)
        this.window += growth
        increment += growth
      }
    }
    this.epochStart = now
    this.unreturned = 0
    this.credit += increment
    return increment
  }
}
