/**
 * One error class with stable codes. Callers match on `err.code`, never on `instanceof` or on the
 * message: messages are for people and may change; codes are an API. Every code is listed, with
 * what to do about it, in docs/errors.md (a unit test keeps the two in step).
 *
 * Protocol errors that travel on the wire (a stream reset, a link goaway) carry `wireCode`, the
 * number sent to the peer, so the far side raises the same `code`.
 */

/** Every code burrow raises, with a one-line meaning. Add new codes here and in docs/errors.md. */
export const ERROR_CODES = {
  // Bad input from a caller or a file.
  TUN_ERR_INVALID_ARGUMENT: 'an argument to a public function or command is invalid',
  TUN_ERR_ADDRESS_SYNTAX: 'an address string does not follow the grammar (the message names the position)',
  TUN_ERR_ADDRESS_UNSUPPORTED: 'an address uses a protocol or transform this build does not know',
  TUN_ERR_ID_INVALID: 'a node id is not 52 characters of lowercase base32 naming an Ed25519 key',
  TUN_ERR_KEY_INVALID: 'a key is not a well-formed Ed25519 key',
  TUN_ERR_KEY_FILE_INVALID: 'a key file could not be parsed',
  TUN_ERR_KEY_FILE_PERMISSIONS: 'a private key file is readable by group or others (chmod 600 it)',
  TUN_ERR_KEY_FILE_EXISTS: 'a key file already exists and --force was not given',
  TUN_ERR_FILE_NOT_FOUND: 'a file named by the caller does not exist',
  // Transports.
  TUN_ERR_CONNECT_REFUSED: 'the remote address refused the connection (nothing listening)',
  TUN_ERR_CONNECT_TIMEOUT: 'the connection attempt did not complete in time',
  TUN_ERR_HOST_NOT_FOUND: 'the host name could not be resolved',
  TUN_ERR_HOST_UNREACHABLE: 'there is no route to the remote host',
  TUN_ERR_ADDRESS_IN_USE: 'the local address to listen on is already in use',
  TUN_ERR_CONN_RESET: 'the connection was reset by the remote side',
  TUN_ERR_CONN_CLOSED: 'the connection is closed',
  TUN_ERR_TRANSPORT: 'a transport failed in a way not covered by a more specific code',
  TUN_ERR_ABORTED: 'the operation was aborted by its AbortSignal or by close()',
  // Secure channel.
  TUN_ERR_HANDSHAKE_TIMEOUT: 'the Noise handshake did not complete within the handshake timeout',
  TUN_ERR_HANDSHAKE_FAILED: 'the Noise handshake failed (malformed message, bad MAC, or wrong protocol)',
  TUN_ERR_REMOTE_KEY_MISMATCH: 'the remote node proved a different key than the id the address names',
  TUN_ERR_VERSION_MISMATCH: 'the remote node speaks another burrow protocol version',
  TUN_ERR_DECRYPT: 'a record failed authentication (bad MAC): the stream was corrupted or tampered with',
  TUN_ERR_RECORD_TOO_LARGE: 'a record or handshake message is larger than the protocol allows',
  TUN_ERR_TRUNCATED: 'the connection ended in the middle of a record or handshake message',
  TUN_ERR_TOO_MANY_HANDSHAKES: 'a listener refused a connection: too many handshakes are pending',
  TUN_ERR_NONCE_EXHAUSTED: 'a cipher ran out of nonces without rekeying (a bug: rekey happens long before)',
  // Multiplexer and links.
  TUN_ERR_PROTOCOL: 'the peer sent a frame that breaks the protocol (the message says which rule)',
  TUN_ERR_FLOW_CONTROL: 'the peer sent more stream data than the window it was granted',
  TUN_ERR_FRAME_TOO_LARGE: 'a frame or stream-open header is larger than the limit',
  TUN_ERR_TOO_MANY_STREAMS: 'the link refused a new stream: the limit of concurrent streams is reached',
  TUN_ERR_STREAM_RESET: 'the stream was reset by the peer or locally (wireCode has the reason)',
  TUN_ERR_STREAM_REFUSED: 'the peer refused to open the stream',
  TUN_ERR_GOAWAY: 'the link is going away: no new streams are accepted on it',
  TUN_ERR_PEER_TIMEOUT: 'the peer stopped answering keepalive pings (dead peer)',
  TUN_ERR_LINK_CLOSED: 'the link closed while the operation was under way',
  TUN_ERR_UNAUTHORIZED: 'the remote node refused this node: its id or credentials are not allowed there',
  // Tunnels: relay, serve, open, connect.
  TUN_ERR_PEER_NOT_FOUND:
    'the relay has no announced peer with that id (the server peer is not connected to it)',
  TUN_ERR_TARGET_DENIED: 'the server peer does not allow that target (not in its allow-list)',
  TUN_ERR_TARGET_REFUSED: 'the server peer reached the target host, but nothing accepted the connection',
  TUN_ERR_TARGET_UNREACHABLE:
    'the server peer could not reach the target (name not found, no route, timeout)',
  TUN_ERR_SESSION_LIMIT: 'a limit of sessions or streams was reached at the server peer or the relay',
  TUN_ERR_PATH_DOWN:
    'no path to the server peer came up within the wait bound (relay unreachable or peer gone)',
  TUN_ERR_BAD_REQUEST: 'a stream open header was malformed or asked for something unknown',
  // Capability tokens.
  TUN_ERR_TOKEN_INVALID: 'a token is malformed, truncated, or its signature does not verify',
  TUN_ERR_TOKEN_EXPIRED: 'a token has expired',
  TUN_ERR_TOKEN_NOT_YET_VALID: 'a token is not valid yet (its start time is in the future)',
  TUN_ERR_TOKEN_REVOKED: 'a token (or the client identity it carries) was revoked by the server peer',
  TUN_ERR_TOKEN_WRONG_SERVER: 'a client token was issued by another server peer',
  TUN_ERR_TOKEN_KIND:
    'a token of the wrong kind was given (a client token where a server token is needed, or the reverse)',
  // Configuration.
  TUN_ERR_CONFIG_INVALID: 'a configuration file is not valid (the message names the file, line and key)',
  // Public ports (exposures).
  TUN_ERR_EXPOSE_DENIED: 'the relay does not let this peer expose a public port (or not that port)',
  TUN_ERR_PORT_UNAVAILABLE:
    'the public port is reserved by another peer, in use, or outside the allowed range',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface TunnelErrorOptions {
  cause?: unknown
  /** The numeric code that went (or will go) on the wire for protocol errors. */
  wireCode?: number
}

export class TunnelError extends Error {
  override readonly name = 'TunnelError'
  readonly code: ErrorCode
  readonly wireCode: number | undefined

  constructor(code: ErrorCode, message: string, options: TunnelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.wireCode = options.wireCode
  }
}

/** True when `err` is a burrow error, and (if given) has one of `codes`. */
export function isTunnelError(err: unknown, ...codes: ErrorCode[]): err is TunnelError {
  return (
    err instanceof Error &&
    (err as { name?: unknown }).name === 'TunnelError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (codes.length === 0 || codes.includes((err as TunnelError).code))
  )
}

/** Turns any thrown value into a message fit for a person (code first, then what happened). */
export function describeError(err: unknown): string {
  if (isTunnelError(err)) return `${err.code}: ${err.message}`
  if (err instanceof Error) return err.message
  return String(err)
}
