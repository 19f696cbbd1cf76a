/**
 * The secure channel's wire format before the records start (see docs/protocol.md, "Secure channel").
 *
 *   initiator                                   responder
 *   preamble: "burrow" | version u8 | pattern u8 ------------>   (8 bytes, once)
 *   frame(NOISE msg1) --------------------------------------->
 *                    <--------------------------------------- frame(NOISE msg2) | frame(REJECT)
 *   frame(NOISE msg3)  (XX only) ---------------------------->
 *   records (record.ts) <====================================> records
 *
 *   frame   = length u16 BE (of type + body) | type u8 | body
 *   NOISE   (0x01) body = one Noise handshake message
 *   REJECT  (0x02) body = code u8 | UTF-8 reason; unauthenticated, sent by the responder before it
 *                  closes, so the initiator can say why (wrong key, version, busy)
 *
 * The prologue (Noise section 6) is PROLOGUE_LABEL followed by the 8 preamble bytes, so both ends
 * bind the protocol name, the version and the pattern: a man in the middle cannot downgrade them.
 *
 * Handshake payloads: each side's payload begins with its Ed25519 public key (32 bytes), then the
 * caller's payload (tokens, capabilities). The receiver maps the Ed25519 key to X25519 and checks it
 * equals the static key the handshake proved, which binds the node id to the Noise session. XX's
 * first message carries no payload (it would travel in clear).
 */

export const MAGIC = Buffer.from('burrow', 'ascii')
export const PREAMBLE_LENGTH = 8
export const PROLOGUE_LABEL = Buffer.from('burrow noise prologue v1', 'ascii')

export const PATTERN_CODE = { XX: 1, IK: 2 } as const

export const FRAME_NOISE = 0x01
export const FRAME_REJECT = 0x02
export const FRAME_HEADER = 3
/** The largest handshake frame body (type + Noise message). */
export const MAX_HANDSHAKE_FRAME = 65535

/** Why a responder refused a handshake (REJECT body, first byte). */
export const REJECT = {
  VERSION: 1,
  BUSY: 2,
  KEY: 3,
  MALFORMED: 4,
} as const

/** The largest caller payload carried in a handshake message (keeps handshakes small and cheap to refuse). */
export const MAX_HANDSHAKE_PAYLOAD = 8192
/** Give up on a handshake that has not completed after this long. */
export const HANDSHAKE_TIMEOUT_MS = 10_000
/** A listener holds at most this many handshakes in progress; more are refused with REJECT BUSY. */
export const MAX_PENDING_HANDSHAKES = 128
/** ...and at most this many from any one source address. */
export const MAX_PENDING_HANDSHAKES_PER_SOURCE = 16

export function encodePreamble(version: number, pattern: keyof typeof PATTERN_CODE): Buffer {
  const out = Buffer.alloc(PREAMBLE_LENGTH)
  MAGIC.copy(out, 0)
  out[6] = version
  out[7] = PATTERN_CODE[pattern]
  return out
}

export function encodeFrame(type: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + body.length)
  out.writeUInt16BE(body.length + 1, 0)
  out[2] = type
  out.set(body, FRAME_HEADER)
  return out
}

export function encodeReject(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 200), 'utf8')
  return encodeFrame(FRAME_REJECT, Buffer.concat([Buffer.from([code]), text]))
}

export function prologueFor(preamble: Uint8Array): Buffer {
  return Buffer.concat([PROLOGUE_LABEL, preamble])
}
