/**
 * The deadline and cancellation every dial shares: one timer (DialOptions.timeoutMs, default
 * DIAL_TIMEOUT_MS) and the caller's AbortSignal, armed for the opening only. Once the Conn is
 * open, neither touches it: aborting a signal after dial() resolved does nothing.
 */
import { TunnelError } from '../errors.ts'
import type { TransportAddress } from '../address/types.ts'
import { DIAL_TIMEOUT_MS } from './constants.ts'
import type { DialOptions, TransportKind } from './types.ts'

/** setTimeout's ceiling; a larger delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** The reason of an aborted dial, as a TunnelError (the signal's own reason becomes its cause). */
export function abortedError(what: string, signal: AbortSignal): TunnelError {
  return new TunnelError('TUN_ERR_ABORTED', `${what} aborted`, { cause: signal.reason })
}

/** Narrows `address` to the transport's own kind, or throws TUN_ERR_INVALID_ARGUMENT. */
export function expectKind<K extends TransportKind>(
  expected: K,
  address: TransportAddress,
  op: 'dial' | 'listen on',
): TransportAddress & { kind: K } {
  if (address?.kind !== expected) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `the ${expected} transport cannot ${op} a ${address?.kind} address`,
    )
  }
  return address as TransportAddress & { kind: K }
}

/** Checks the dial options before any socket exists (a pre-aborted signal rejects here). */
export function checkDial(what: string, options: DialOptions): void {
  const t = options.timeoutMs
  if (t !== undefined && !(Number.isFinite(t) && t > 0 && t <= MAX_TIMER_MS)) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `timeoutMs must be a number of ms in (0, ${MAX_TIMER_MS}], got ${t}`,
    )
  }
  if (options.signal?.aborted) throw abortedError(what, options.signal)
}

/**
 * Starts the timer and listens to the signal. `fail` runs at most once, with TUN_ERR_CONNECT_TIMEOUT
 * or TUN_ERR_ABORTED; it must tear the attempt down. Returns `disarm`, to call when the attempt
 * settles either way (it is idempotent).
 */
export function armDial(what: string, options: DialOptions, fail: (err: TunnelError) => void): () => void {
  const timeoutMs = options.timeoutMs ?? DIAL_TIMEOUT_MS
  const { signal } = options
  const onAbort = () => {
    disarm()
    fail(abortedError(what, signal as AbortSignal))
  }
  const timer = setTimeout(() => {
    disarm()
    fail(new TunnelError('TUN_ERR_CONNECT_TIMEOUT', `${what} timed out after ${timeoutMs} ms`))
  }, timeoutMs)
  signal?.addEventListener('abort', onAbort, { once: true })
  function disarm() {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  return disarm
}
