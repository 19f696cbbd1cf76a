/**
 * The relay protocol: what a peer asks its relay for, over the hop link (a burrow link from the
 * peer to the relay). Every request is a stream the peer opens; its open header is a small JSON
 * object (UTF-8, at most MAX_REQUEST bytes). docs/protocol.md, section "Relay", draws the flows.
 *
 *   server peer                       relay                          client peer
 *   OPEN {"op":"announce"} ------->   registry[id] = this link
 *                         <-------   {"ok":true} then FIN
 *                                     OPEN {"op":"connect","to":S} <------------
 *   OPEN {"op":"incoming","from":C} <-- (a new stream on S's hop link)
 *   <========== the two streams are spliced: bytes both ways, FIN and RESET pass through ==========>
 *   end-to-end Noise link between C and S runs inside the spliced pair; the relay sees ciphertext
 *
 * A connect to a peer that is not announced is answered with RESET(PEER_NOT_FOUND); the client
 * starts its handshake at once (optimistic open), so a successful connect costs no round trip.
 * An announcement lasts as long as the hop link; a newer announcement of the same id (a server peer
 * that reconnected before its old link timed out) replaces the older one.
 */
import { TunnelError } from '../errors.ts'

/** The largest request header a relay accepts. */
export const MAX_REQUEST = 1024

/** RESET codes of relay streams (in the range the multiplexer leaves to the layers above). */
export const RelayResetCode = {
  /** No peer with that id is announced at this relay. */
  PEER_NOT_FOUND: 0x120,
  /** The relay is at a limit (streams, splices). */
  LIMIT: 0x121,
  /** The request header is malformed or unknown. */
  BAD_REQUEST: 0x122,
  /** The relay does not allow this request (admission policy). */
  DENIED: 0x123,
  /** The announced peer's link closed while the splice was being set up. */
  PEER_GONE: 0x124,
} as const

export type RelayRequest =
  { op: 'announce' } | { op: 'connect'; to: string } | { op: 'incoming'; from: string }

export function encodeRequest(request: RelayRequest): Buffer {
  return Buffer.from(JSON.stringify(request))
}

/** Decodes a request header; unknown ops and malformed fields are TUN_ERR_BAD_REQUEST. */
export function decodeRequest(header: Uint8Array): RelayRequest {
  if (header.length > MAX_REQUEST) throw bad(`request header of ${header.length} bytes > ${MAX_REQUEST}`)
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(header).toString('utf8'))
  } catch {
    throw bad('request header is not JSON')
  }
  if (typeof value !== 'object' || value === null) throw bad('request header is not an object')
  const r = value as Record<string, unknown>
  switch (r.op) {
    case 'announce':
      return { op: 'announce' }
    case 'connect':
      if (typeof r.to !== 'string') throw bad('connect needs "to": a node id')
      return { op: 'connect', to: r.to }
    case 'incoming':
      if (typeof r.from !== 'string') throw bad('incoming needs "from": a node id')
      return { op: 'incoming', from: r.from }
    default:
      throw bad(`unknown request ${JSON.stringify(r.op)}`)
  }
}

function bad(message: string): TunnelError {
  return new TunnelError('TUN_ERR_BAD_REQUEST', message, { wireCode: RelayResetCode.BAD_REQUEST })
}

/** The reply to an announce, as the one line the relay writes before FIN. */
export interface AnnounceReply {
  ok: boolean
  reason?: string
}
