/**
 * The end-to-end protocol between a client peer and a server peer, inside their Noise link.
 *
 * Each tunnelled connection is one stream; its open header is a small JSON object:
 *   {"target":"tcp://127.0.0.1:22"}     the target the client asks for
 *   {}                                  the server's default target (serve --expose-tcp)
 * The server checks the target against its policy, dials it at once (so protocols where the server
 * speaks first, like SSH and SMTP, work) and splices; or it resets the stream with a code below
 * and a reason the client shows to the user.
 */
import { TunnelError } from '../errors.ts'

/** The largest open header a server peer accepts. */
export const MAX_OPEN_REQUEST = 2048

/** RESET codes of end-to-end streams. */
export const StreamResetCode = {
  /** The target is not in the server peer's allow-list. */
  TARGET_DENIED: 0x200,
  /** The target host answered but refused the connection. */
  TARGET_REFUSED: 0x201,
  /** The target could not be reached (name, route, timeout). */
  TARGET_UNREACHABLE: 0x202,
  /** The open header was malformed. */
  BAD_REQUEST: 0x203,
  /** The client has too many streams open at this server peer. */
  STREAM_LIMIT: 0x204,
  /** The target connection failed after it was established. */
  TARGET_RESET: 0x205,
} as const

export interface OpenRequest {
  /** `tcp://host:port`; absent: the server peer's default target. */
  target?: string
}

export function encodeOpen(request: OpenRequest): Buffer {
  return Buffer.from(JSON.stringify(request.target === undefined ? {} : { target: request.target }))
}

export function decodeOpen(header: Uint8Array): OpenRequest {
  if (header.length > MAX_OPEN_REQUEST)
    throw bad(`open header of ${header.length} bytes > ${MAX_OPEN_REQUEST}`)
  let value: unknown
  try {
    value = header.length === 0 ? {} : JSON.parse(Buffer.from(header).toString('utf8'))
  } catch {
    throw bad('open header is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('open header is not an object')
  const target = (value as { target?: unknown }).target
  if (target !== undefined && typeof target !== 'string')
    throw bad('"target" must be a string like tcp://host:port')
  return target === undefined ? {} : { target }
}

function bad(message: string): TunnelError {
  return new TunnelError('TUN_ERR_BAD_REQUEST', message, { wireCode: StreamResetCode.BAD_REQUEST })
}
