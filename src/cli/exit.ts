/**
 * Exit codes: what failed, for scripts and for OpenSSH's ProxyCommand. Stable; listed in
 * docs/cli.md.
 */
import { isTunnelError, type ErrorCode } from '../errors.ts'

export const EXIT = {
  OK: 0,
  /** Something failed that has no more specific code below. */
  FAILURE: 1,
  /** Bad flags, arguments or input files: nothing was attempted. */
  USAGE: 2,
  /** A key file is missing, unreadable, malformed or too open. */
  KEY: 3,
  /** No path to the server peer: the relay is unreachable or did not answer in time. */
  PATH: 4,
  /** The relay does not know the server peer, or a node proved another key than expected. */
  PEER: 5,
  /** Refused: this node's id is not allowed, or a session/stream limit was reached. */
  REFUSED: 6,
  /** The server peer does not allow the target. */
  TARGET_DENIED: 7,
  /** The server peer could not connect to the target (refused, unreachable). */
  TARGET_FAILED: 8,
  /** The connection was lost midway (reset, dead peer, link closed). */
  LOST: 9,
} as const

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  TUN_ERR_INVALID_ARGUMENT: EXIT.USAGE,
  TUN_ERR_ADDRESS_SYNTAX: EXIT.USAGE,
  TUN_ERR_ADDRESS_UNSUPPORTED: EXIT.USAGE,
  TUN_ERR_ID_INVALID: EXIT.USAGE,
  TUN_ERR_FILE_NOT_FOUND: EXIT.USAGE,
  TUN_ERR_KEY_FILE_EXISTS: EXIT.KEY,
  TUN_ERR_KEY_FILE_INVALID: EXIT.KEY,
  TUN_ERR_KEY_FILE_PERMISSIONS: EXIT.KEY,
  TUN_ERR_KEY_INVALID: EXIT.KEY,
  TUN_ERR_PATH_DOWN: EXIT.PATH,
  TUN_ERR_CONNECT_REFUSED: EXIT.PATH,
  TUN_ERR_CONNECT_TIMEOUT: EXIT.PATH,
  TUN_ERR_HOST_NOT_FOUND: EXIT.PATH,
  TUN_ERR_HOST_UNREACHABLE: EXIT.PATH,
  TUN_ERR_HANDSHAKE_TIMEOUT: EXIT.PATH,
  TUN_ERR_PEER_NOT_FOUND: EXIT.PEER,
  TUN_ERR_REMOTE_KEY_MISMATCH: EXIT.PEER,
  TUN_ERR_UNAUTHORIZED: EXIT.REFUSED,
  TUN_ERR_SESSION_LIMIT: EXIT.REFUSED,
  TUN_ERR_EXPOSE_DENIED: EXIT.REFUSED,
  TUN_ERR_PORT_UNAVAILABLE: EXIT.REFUSED,
  TUN_ERR_TOKEN_EXPIRED: EXIT.REFUSED,
  TUN_ERR_TOKEN_NOT_YET_VALID: EXIT.REFUSED,
  TUN_ERR_TOKEN_REVOKED: EXIT.REFUSED,
  TUN_ERR_TOKEN_WRONG_SERVER: EXIT.REFUSED,
  TUN_ERR_TOKEN_INVALID: EXIT.KEY,
  TUN_ERR_TOKEN_KIND: EXIT.USAGE,
  TUN_ERR_TARGET_DENIED: EXIT.TARGET_DENIED,
  TUN_ERR_TARGET_REFUSED: EXIT.TARGET_FAILED,
  TUN_ERR_TARGET_UNREACHABLE: EXIT.TARGET_FAILED,
  TUN_ERR_STREAM_RESET: EXIT.LOST,
  TUN_ERR_PEER_TIMEOUT: EXIT.LOST,
  TUN_ERR_LINK_CLOSED: EXIT.LOST,
  TUN_ERR_CONN_RESET: EXIT.LOST,
  TUN_ERR_TRUNCATED: EXIT.LOST,
}

export function exitCodeFor(err: unknown): number {
  return isTunnelError(err) ? (BY_CODE[err.code] ?? EXIT.FAILURE) : EXIT.FAILURE
}
