/** Caps the handshakes a listener has in progress (MAX_PENDING_HANDSHAKES by default). */
import type { HandshakeGateLike } from './types.ts'
import { MAX_PENDING_HANDSHAKES } from './wire.ts'

export class HandshakeGate implements HandshakeGateLike {
  #pending = 0
  constructor(readonly max: number = MAX_PENDING_HANDSHAKES) {}

  get pending(): number {
    return this.#pending
  }

  tryEnter(): boolean {
    if (this.#pending >= this.max) return false
    this.#pending++
    return true
  }

  leave(): void {
    if (this.#pending > 0) this.#pending--
  }
}
