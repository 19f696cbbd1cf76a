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
 *
 *   exposing peer                     relay                          visitor (runs no burrow)
 *   OPEN {"op":"expose","port":N?} -> policy, port, public listener
 *                         <-------   {"ok":true,"port":P,"host":H}\n  (the stream stays open)
 *                                     <------------------------------- TCP connect to H:P
 *   OPEN {"op":"visitor","port":P,"from":"ip:port"} <-- spliced with the visitor's socket
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
  /** An expose request the relay's policy refuses (TUN_ERR_EXPOSE_DENIED), or that it revoked. */
  EXPOSE_DENIED: 0x125,
  /** The public port asked for is held, reserved for another peer, or busy on the host. */
  PORT_UNAVAILABLE: 0x126,
  /** A newer exposure of the same peer took this exposure's port (the peer reconnected). */
  REPLACED: 0x127,
} as const

export type RelayRequest =
  | { op: 'announce' }
  | { op: 'connect'; to: string }
  | { op: 'incoming'; from: string }
  | ExposeRequest
  | VisitorRequest

/**
 * Exposures (docs/protocol.md, "Exposures"): a peer asks for a public port on the relay. The relay
 * answers one JSON line ({@link ExposeReply}); on success the exposure lasts as long as this request
 * stream stays open (the peer ends it to withdraw), and for each visitor of the public port the
 * relay opens a {@link VisitorRequest} stream on the peer's hop link, spliced to the visitor's
 * connection. On refusal the line is followed by a RESET whose code says why (EXPOSE_DENIED,
 * PORT_UNAVAILABLE, LIMIT, BAD_REQUEST).
 */
export interface ExposeRequest {
  op: 'expose'
  /** The public port wanted; absent: the relay picks (the peer's reserved port first). */
  port?: number
  /** Terminate TLS at the relay with its certificate. */
  tls?: boolean
}

/** Sent by the relay: a visitor of public port `port`, from `ip:port` (`[ipv6]:port`). */
export interface VisitorRequest {
  op: 'visitor'
  port: number
  from: string
}

/** The line the relay writes on an expose stream (then keeps it open, or resets it). */
export type ExposeReply =
  { ok: true; port: number; host: string } | { ok: false; code: string; reason: string }

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
    case 'expose': {
      if (r.port !== undefined && !isPort(r.port)) throw bad('expose "port" must be 1-65535')
      if (r.tls !== undefined && typeof r.tls !== 'boolean') throw bad('expose "tls" must be true or false')
      const request: ExposeRequest = { op: 'expose' }
      if (r.port !== undefined) request.port = r.port as number
      if (r.tls === true) request.tls = true
      return request
    }
    case 'visitor':
      if (!isPort(r.port)) throw bad('visitor needs "port": 1-65535')
      if (typeof r.from !== 'string') throw bad('visitor needs "from": ip:port')
      return { op: 'visitor', port: r.port as number, from: r.from }
    default:
      throw bad(`unknown request ${JSON.stringify(r.op)}`)
  }
}

function isPort(x: unknown): boolean {
  return Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 65535
}

function bad(message: string): TunnelError {
  return new TunnelError('TUN_ERR_BAD_REQUEST', message, { wireCode: RelayResetCode.BAD_REQUEST })
}

/** The reply to an announce, as the one line the relay writes before FIN. */
export interface AnnounceReply {
  ok: boolean
  reason?: string
}
