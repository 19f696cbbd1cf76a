/**
 * Who is announced at this relay: node id -> the hop link that reaches it. An interface so a
 * shared store can back it later; the embedded default keeps it in memory.
 */
import type { Link } from '../mux/link.ts'

export interface Announcement {
  readonly id: string
  readonly link: Link
  /** When it was announced (ms since the epoch). */
  readonly since: number
}

export interface Registry {
  /** Records `a`; replaces any announcement of the same id (the newest link wins). */
  announce(a: Announcement): void
  /** Removes `a`, only if it is still the current announcement of its id. */
  withdraw(a: Announcement): void
  lookup(id: string): Announcement | undefined
  readonly size: number
}

export class MemoryRegistry implements Registry {
  readonly #byId = new Map<string, Announcement>()

  announce(a: Announcement): void {
    this.#byId.set(a.id, a)
  }

  withdraw(a: Announcement): void {
    if (this.#byId.get(a.id) === a) this.#byId.delete(a.id)
  }

  lookup(id: string): Announcement | undefined {
    return this.#byId.get(id)
  }

  get size(): number {
    return this.#byId.size
  }
}
