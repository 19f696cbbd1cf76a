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
}

export function exitCodeFor(err: unknown): number {
  return isTunnelError(err) ? (BY_CODE[err.code] ?? EXIT.FAILURE) : EXIT.FAILURE
}
