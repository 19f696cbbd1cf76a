/**
 * Caps the handshakes a listener has in progress: MAX_PENDING_HANDSHAKES in all, and
 * MAX_PENDING_HANDSHAKES_PER_SOURCE from any one source address, so a single host that opens
 * connections and never finishes them cannot take every slot from everyone else.
 */
import type { HandshakeGateLike } from './types.ts'
import { MAX_PENDING_HANDSHAKES, MAX_PENDING_HANDSHAKES_PER_SOURCE } from './wire.ts'

export class HandshakeGate implements HandshakeGateLike {
  #pending = 0
  /** Pending handshakes per source; an entry is removed at zero, so the map is bounded by `max`. */
  readonly #bySource = new Map<string, number>()

  constructor(
    readonly max: number = MAX_PENDING_HANDSHAKES,
    readonly maxPerSource: number = MAX_PENDING_HANDSHAKES_PER_SOURCE,
  ) {}

  get pending(): number {
    return this.#pending
  }

  tryEnter(source = ''): boolean {
    const mine = this.#bySource.get(source) ?? 0
    if (this.#pending >= this.max || mine >= this.maxPerSource) return false
    this.#pending++
    this.#bySource.set(source, mine + 1)
    return true
  }

  leave(source = ''): void {
    const mine = this.#bySource.get(source) ?? 0
    if (mine === 0) return
    this.#pending--
    if (mine === 1) this.#bySource.delete(source)
    else this.#bySource.set(source, mine - 1)
  }
}

/** The address part of a ConnInfo endpoint (`1.2.3.4:5` -> `1.2.3.4`, `[::1]:5` -> `::1`). */
export function sourceOf(remote: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(remote)
  if (v6) return v6[1] as string
  const v4 = /^([^:]+):\d+$/.exec(remote)
  return v4 ? (v4[1] as string) : remote
}
