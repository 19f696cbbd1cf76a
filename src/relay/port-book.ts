/**
 * Which public port belongs to whom (pure state, injected clock): ports held by live exposures, and
 * ports reserved for the peer that last held them. No sockets here: exposures.ts binds.
 *
 * Why reservations: a peer whose hop link drops (a laptop changing networks, a relay restart of the
 * peer's process) must get its public address back, or every visitor's bookmark breaks. So when an
 * exposure ends its port stays reserved for that peer id for a grace period
 * ({@link DEFAULT_EXPOSE_GRACE_MS}); the peer gets it back by asking for it, or by asking for no port
 * at all (its reservation is preferred). Any other peer asking for it is refused with
 * TUN_ERR_PORT_UNAVAILABLE and the time the reservation ends. After the grace period the port is
 * free for anyone.
 *
 *   free ──hold──> held ──release──> reserved(peer, until) ──until passes──> free
 *                   ^                       │
 *                   └──hold (same peer)─────┘      a held port asked for again by the same peer:
 *                                                  the newer exposure replaces the older one
 */
import { TunnelError } from '../errors.ts'
import type { PortRange } from '../policy/targets.ts'
import { formatPorts, nthPort, portCount, portsInclude, type ExposePorts } from './expose-allow.ts'

/** How long a port stays reserved for its last holder after its exposure ends: 10 minutes. */
export const DEFAULT_EXPOSE_GRACE_MS = 10 * 60_000

/** What holds a port: a live exposure, as far as the book is concerned. */
export interface PortHolder {
  readonly peer: string
}

export interface Reservation {
  readonly peer: string
  /** When the reservation ends, ms since the epoch. */
  readonly until: number
}

export interface PortBookOptions {
  graceMs?: number
  /** Milliseconds since the epoch (tests inject a fake clock). Default Date.now. */
  now?: () => number
}

/** The outcome of checking a request for a given port: use it, maybe replacing the peer's own holder. */
export interface PortCheck<T> {
  port: number
  /** The same peer's live exposure on that port, which the new one replaces. */
  replaces?: T
}

export class PortBook<T extends PortHolder> {
  readonly graceMs: number
  readonly #now: () => number
  readonly #held = new Map<number, T>()
  readonly #reserved = new Map<number, Reservation>()

  constructor(options: PortBookOptions = {}) {
    const graceMs = options.graceMs ?? DEFAULT_EXPOSE_GRACE_MS
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        `the expose grace period must be >= 0 ms, got ${graceMs}`,
      )
    this.graceMs = graceMs
    this.#now = options.now ?? Date.now
  }

  /** Ports held by live exposures. */
  get held(): ReadonlyMap<number, T> {
    return this.#held
  }

  /** Live exposures of `peer`. */
  countOf(peer: string): number {
    let n = 0
    for (const h of this.#held.values()) if (h.peer === peer) n++
    return n
  }

  /** The reservation of `port`, if it has not ended. */
  reservation(port: number): Reservation | undefined {
    const r = this.#reserved.get(port)
    if (r !== undefined && r.until <= this.#now()) {
      this.#reserved.delete(port)
      return undefined
    }
    return r
  }

  /**
   * Checks that `peer`, granted `grant` (with the relay's `range` for `*`), may have `port`.
   *
   * @throws TunnelError `TUN_ERR_EXPOSE_DENIED` (not granted) or `TUN_ERR_PORT_UNAVAILABLE` (held
   *   by another peer's exposure, or reserved for another peer: the message says until when).
   */
  check(peer: string, port: number, grant: ExposePorts, range: PortRange): PortCheck<T> {
    if (!portsInclude(grant, range, port))
      throw new TunnelError(
        'TUN_ERR_EXPOSE_DENIED',
        `port ${port} is not among the ports this relay lets ${peer} expose (${formatPorts(grant === '*' ? [range] : grant)})`,
      )
    const holder = this.#held.get(port)
    if (holder !== undefined) {
      if (holder.peer === peer) return { port, replaces: holder }
      throw new TunnelError('TUN_ERR_PORT_UNAVAILABLE', `port ${port} is in use by another peer's exposure`)
    }
    const r = this.reservation(port)
    if (r !== undefined && r.peer !== peer)
      throw new TunnelError(
        'TUN_ERR_PORT_UNAVAILABLE',
        `port ${port} is reserved for another peer until ${new Date(r.until).toISOString()}`,
      )
    return { port }
  }

  /**
   * Ports to try for `peer` when it asked for none, best first: its own reservations still granted
   * (the latest first), then the granted ports that are neither held nor reserved, starting at
   * index `start` of the grant and wrapping around. Lazy: a caller takes the first it can bind.
   */
  *candidates(peer: string, grant: ExposePorts, range: PortRange, start = 0): Generator<number> {
    const own = [...this.#reserved]
      .filter(([port, r]) => r.peer === peer && this.reservation(port) !== undefined)
      .filter(([port]) => portsInclude(grant, range, port) && !this.#held.has(port))
      .sort((a, b) => b[1].until - a[1].until)
    for (const [port] of own) yield port
    const total = portCount(grant, range)
    for (let i = 0; i < total; i++) {
      const port = nthPort(grant, range, (start + i) % total)
      if (!this.#held.has(port) && this.reservation(port) === undefined) yield port
    }
  }

  /** `holder` now holds `port` (any reservation of it is used up). */
  hold(port: number, holder: T): void {
    this.#held.set(port, holder)
    this.#reserved.delete(port)
  }

  /** `holder` never came up (the bind failed): the port is free again, with no reservation. */
  drop(port: number, holder: T): void {
    if (this.#held.get(port) === holder) this.#held.delete(port)
  }

  /** `holder`'s exposure ended: the port is reserved for its peer for the grace period. */
  release(port: number, holder: T): void {
    if (this.#held.get(port) !== holder) return
    this.#held.delete(port)
    if (this.graceMs > 0) this.#reserved.set(port, { peer: holder.peer, until: this.#now() + this.graceMs })
  }

  /** Forgets reservations that have ended (bounds the table); returns how many. */
  sweep(): number {
    let n = 0
    for (const port of [...this.#reserved.keys()]) if (this.reservation(port) === undefined) n++
    return n
  }

  /** Reservations that have not ended, by port. */
  reservations(): Map<number, Reservation> {
    this.sweep()
    return new Map(this.#reserved)
  }
}
