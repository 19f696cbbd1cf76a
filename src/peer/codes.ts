/**
 * One table from the numbers on the wire (stream RESET codes of the relay and of the server peer)
 * to the error codes a user sees, so `open` and `connect` report "target refused" rather than
 * "stream reset 0x201".
 */
import { TunnelError, isTunnelError, type ErrorCode } from '../errors.ts'
import { RelayResetCode } from '../relay/wire.ts'
import { StreamResetCode } from './wire.ts'

const BY_WIRE_CODE: Record<number, ErrorCode> = {
  [RelayResetCode.PEER_NOT_FOUND]: 'TUN_ERR_PEER_NOT_FOUND',
  [RelayResetCode.PEER_GONE]: 'TUN_ERR_PEER_NOT_FOUND',
  [RelayResetCode.LIMIT]: 'TUN_ERR_SESSION_LIMIT',
  [RelayResetCode.BAD_REQUEST]: 'TUN_ERR_BAD_REQUEST',
  [RelayResetCode.DENIED]: 'TUN_ERR_UNAUTHORIZED',
  [StreamResetCode.TARGET_DENIED]: 'TUN_ERR_TARGET_DENIED',
  [StreamResetCode.TARGET_REFUSED]: 'TUN_ERR_TARGET_REFUSED',
  [StreamResetCode.TARGET_UNREACHABLE]: 'TUN_ERR_TARGET_UNREACHABLE',
  [StreamResetCode.BAD_REQUEST]: 'TUN_ERR_BAD_REQUEST',
  [StreamResetCode.STREAM_LIMIT]: 'TUN_ERR_SESSION_LIMIT',
}

/** The stream RESET code for a local error of the server peer (policy, dial). */
export function resetCodeFor(err: unknown): number {
  if (!isTunnelError(err)) return StreamResetCode.TARGET_UNREACHABLE
  switch (err.code) {
    case 'TUN_ERR_TARGET_DENIED':
      return StreamResetCode.TARGET_DENIED
    case 'TUN_ERR_CONNECT_REFUSED':
    case 'TUN_ERR_TARGET_REFUSED':
      return StreamResetCode.TARGET_REFUSED
    case 'TUN_ERR_BAD_REQUEST':
    case 'TUN_ERR_INVALID_ARGUMENT':
    case 'TUN_ERR_ADDRESS_SYNTAX':
      return StreamResetCode.BAD_REQUEST
    case 'TUN_ERR_SESSION_LIMIT':
      return StreamResetCode.STREAM_LIMIT
    default:
      return StreamResetCode.TARGET_UNREACHABLE
  }
}

/**
 * Makes a stream or link error say what happened: a RESET carrying a relay or server code becomes
 * that code's TunnelError (the peer's reason kept in the message); anything else passes through.
 */
export function explain(err: unknown): Error {
  if (isTunnelError(err, 'TUN_ERR_STREAM_RESET') && err.wireCode !== undefined) {
    const code = BY_WIRE_CODE[err.wireCode]
    if (code !== undefined)
      return new TunnelError(
        code,
        err.message.replace(/^stream \d+ reset by the peer \(code \d+\):? ?/, ''),
        { cause: err, wireCode: err.wireCode },
      )
  }
  if (err instanceof Error) return err
  return new TunnelError('TUN_ERR_TRANSPORT', String(err))
}
