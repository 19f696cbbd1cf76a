/**
 * Mapping between local error codes and the numbers on the wire (GOAWAY and RESET codes), so the
 * far side of a link failure raises the same `code` as the near side.
 */
import { type ErrorCode, TunnelError, isTunnelError } from '../errors.ts'
import { APP_CODE_BASE, GoawayCode, ResetCode } from './wire.ts'

/** GOAWAY code of a listener that refuses or drops a peer for its id or credentials (link.ts). */
export const LINK_UNAUTHORIZED = APP_CODE_BASE
/** GOAWAY code of a listener at a limit of links or sessions (link.ts). */
export const LINK_BUSY = APP_CODE_BASE + 1

/** GOAWAY codes of a listener that refuses or drops a peer for its capability token (peer/serve.ts). */
export const LINK_TOKEN = {
  INVALID: APP_CODE_BASE + 2,
  EXPIRED: APP_CODE_BASE + 3,
  NOT_YET_VALID: APP_CODE_BASE + 4,
  REVOKED: APP_CODE_BASE + 5,
  WRONG_SERVER: APP_CODE_BASE + 6,
} as const

const GOAWAY_ERRORS: Record<number, ErrorCode> = {
  [LINK_UNAUTHORIZED]: 'TUN_ERR_UNAUTHORIZED',
  [LINK_BUSY]: 'TUN_ERR_SESSION_LIMIT',
  [LINK_TOKEN.INVALID]: 'TUN_ERR_TOKEN_INVALID',
  [LINK_TOKEN.EXPIRED]: 'TUN_ERR_TOKEN_EXPIRED',
  [LINK_TOKEN.NOT_YET_VALID]: 'TUN_ERR_TOKEN_NOT_YET_VALID',
  [LINK_TOKEN.REVOKED]: 'TUN_ERR_TOKEN_REVOKED',
  [LINK_TOKEN.WRONG_SERVER]: 'TUN_ERR_TOKEN_WRONG_SERVER',
  [GoawayCode.PROTOCOL]: 'TUN_ERR_PROTOCOL',
  [GoawayCode.FLOW_CONTROL]: 'TUN_ERR_FLOW_CONTROL',
  [GoawayCode.FRAME_TOO_LARGE]: 'TUN_ERR_FRAME_TOO_LARGE',
  [GoawayCode.PEER_TIMEOUT]: 'TUN_ERR_PEER_TIMEOUT',
}

const ERROR_GOAWAYS: Partial<Record<ErrorCode, number>> = {
  TUN_ERR_UNAUTHORIZED: LINK_UNAUTHORIZED,
  TUN_ERR_SESSION_LIMIT: LINK_BUSY,
  TUN_ERR_TOKEN_INVALID: LINK_TOKEN.INVALID,
  TUN_ERR_TOKEN_EXPIRED: LINK_TOKEN.EXPIRED,
  TUN_ERR_TOKEN_NOT_YET_VALID: LINK_TOKEN.NOT_YET_VALID,
  TUN_ERR_TOKEN_REVOKED: LINK_TOKEN.REVOKED,
  TUN_ERR_TOKEN_WRONG_SERVER: LINK_TOKEN.WRONG_SERVER,
  TUN_ERR_PROTOCOL: GoawayCode.PROTOCOL,
  TUN_ERR_FLOW_CONTROL: GoawayCode.FLOW_CONTROL,
  TUN_ERR_FRAME_TOO_LARGE: GoawayCode.FRAME_TOO_LARGE,
  TUN_ERR_PEER_TIMEOUT: GoawayCode.PEER_TIMEOUT,
}

/** The GOAWAY code to send when closing with `err` (NORMAL without one; an app code passes through). */
export function goawayCodeFor(err: Error | undefined): number {
  if (err === undefined) return GoawayCode.NORMAL
  if (!isTunnelError(err)) return GoawayCode.INTERNAL
  if (err.wireCode !== undefined && err.wireCode >= APP_CODE_BASE) return err.wireCode
  return ERROR_GOAWAYS[err.code] ?? GoawayCode.INTERNAL
}

/** The local error for a link the peer closed after sending GOAWAY `code` (undefined for NORMAL). */
export function errorForGoaway(code: number, reason: string): TunnelError | undefined {
  if (code === GoawayCode.NORMAL) return undefined
  const text = reason === '' ? '' : `: ${reason}`
  return new TunnelError(
    GOAWAY_ERRORS[code] ?? 'TUN_ERR_LINK_CLOSED',
    `the peer closed the link (GOAWAY ${code})${text}`,
    {
      wireCode: code,
    },
  )
}

export function protocolError(message: string): TunnelError {
  return new TunnelError('TUN_ERR_PROTOCOL', message, { wireCode: GoawayCode.PROTOCOL })
}

export function flowControlError(message: string): TunnelError {
  return new TunnelError('TUN_ERR_FLOW_CONTROL', message, { wireCode: GoawayCode.FLOW_CONTROL })
}

export function linkClosedError(message: string, cause?: unknown): TunnelError {
  return new TunnelError('TUN_ERR_LINK_CLOSED', message, { cause, wireCode: ResetCode.LINK_CLOSED })
}
