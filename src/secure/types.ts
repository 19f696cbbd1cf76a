/**
 * The secure channel turns a transport Conn into an authenticated, encrypted Conn: after
 * `secureOutbound`/`secureInbound` resolve, the remote node's id is proven (Noise IK or XX with
 * static keys bound to Ed25519 ids) and every byte is sealed in AEAD records.
 */
import type { Conn } from '../transport/types.ts'

/**
 * A reader that takes plaintext as it is decrypted, without the Readable side (the multiplexer:
 * it never applies backpressure to the channel, each of its streams being bounded by its window).
 */
export interface PlaintextSink {
  data(piece: Buffer): void
  /** The transport below drained: writeDirect() may be called again after it returned false. */
  drain(): void
}

/** A Conn whose remote end proved its identity; bytes are plaintext here, ciphertext below. */
export interface SecureConn extends Conn {
  /** The proven id of the remote node (52-character base32 Ed25519 public key). */
  readonly remoteId: string
  /** The payload the remote sent in the handshake (after its Ed25519 key), for the layers above. */
  readonly remotePayload: Uint8Array
  /** Noise handshake hash: the same on both ends and unique per session (channel binding). */
  readonly handshakeHash: Uint8Array
  readonly pattern: 'XX' | 'IK'
  /** Records sealed and opened so far. */
  readonly records: { readonly sent: number; readonly received: number }
  /**
   * The fast path for one trusted reader-writer (the multiplexer): plaintext goes to `sink`
   * instead of 'data' events. Call once, before any data is read.
   */
  attachSink(sink: PlaintextSink): void
  /**
   * Queues bytes for the current record without the Writable machinery. Returns false when the
   * transport is congested (wait for sink.drain()). Writes in one tick still share one record.
   */
  writeDirect(chunk: Uint8Array): boolean
  /**
   * Like writeDirect, but the bytes travel in clear records: authenticated, not encrypted. Only for
   * bytes that are already ciphertext of another channel (streams a relay splices), and only
   * buffers nobody changes afterwards: they are written as they are, without a copy.
   */
  writeClear(chunk: Uint8Array): boolean
  /** Plaintext queued for sealing plus ciphertext the transport has not sent: the real backlog. */
  readonly backlog: number
}

export interface SecureOptions {
  /** This side's handshake payload for the layers above (at most MAX_HANDSHAKE_PAYLOAD bytes). */
  payload?: Uint8Array
  /** Default HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number
  signal?: AbortSignal
  /** Rekey limits (tests lower them; both ends must agree). */
  rekey?: { records?: number; bytes?: number }
}

export interface OutboundOptions extends SecureOptions {
  /** The id the remote must prove. Given: Noise IK (one round trip); absent: XX (learns the id). */
  remoteId?: string
  /** Force XX even with a known id (the id is still checked). */
  pattern?: 'XX' | 'IK'
}

export interface InboundOptions extends SecureOptions {
  /** Shared by a listener's handshakes to cap how many are in progress at once. */
  gate?: HandshakeGateLike
}

export interface HandshakeGateLike {
  /** Takes a slot for a handshake from `source` (an address); false when full overall or for it. */
  tryEnter(source: string): boolean
  leave(source: string): void
}
