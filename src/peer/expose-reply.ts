/**
 * The exposing peer's reading of the relay's answers (relay/wire.ts, "Exposures"): the one JSON line
 * on the expose stream, and the RESET codes that follow a refusal or end a live exposure, as the
 * errors a user sees. Why both: the line carries the relay's words, but a RESET may overtake it in a
 * congested link, and the code alone must still say what happened.
 */
import { TunnelError, isTunnelError, type ErrorCode } from '../errors.ts'
import type { MuxStream } from '../mux/stream.ts'
import { RelayResetCode, type ExposeReply } from '../relay/wire.ts'

/** How long the relay may take to answer an expose request. */
export const EXPOSE_REPLY_TIMEOUT_MS = 10_000
/** The longest reply line read. */
export const MAX_EXPOSE_REPLY = 1024
const BY_RESET: Record<number, ErrorCode> = {
  [RelayResetCode.EXPOSE_DENIED]: 'TUN_ERR_EXPOSE_DENIED',
  [RelayResetCode.DENIED]: 'TUN_ERR_EXPOSE_DENIED',
  [RelayResetCode.PORT_UNAVAILABLE]: 'TUN_ERR_PORT_UNAVAILABLE',
  [RelayResetCode.REPLACED]: 'TUN_ERR_PORT_UNAVAILABLE',
  [RelayResetCode.LIMIT]: 'TUN_ERR_SESSION_LIMIT',
  [RelayResetCode.BAD_REQUEST]: 'TUN_ERR_BAD_REQUEST',
}
/** Codes that mean "the relay said no" (as opposed to "the link went away"). */
export const REFUSALS: ErrorCode[] = [
  'TUN_ERR_EXPOSE_DENIED',
  'TUN_ERR_PORT_UNAVAILABLE',
  'TUN_ERR_SESSION_LIMIT',
  'TUN_ERR_BAD_REQUEST',
]

/** Reads the relay's one-line reply. */
export function readReply(stream: MuxStream): Promise<ExposeReply> {
  return new Promise((resolve, reject) => {
    let text = ''
    const done = (err?: Error, reply?: ExposeReply) => {
      clearTimeout(timer)
      stream.off('data', onData)
      stream.off('error', onError)
      stream.off('end', onEnd)
      if (reply) resolve(reply)
      else reject(err)
    }
    const onData = (d: Buffer) => {
      text += d.toString('utf8')
      const nl = text.indexOf('\n')
      if (nl === -1) {
        if (text.length > MAX_EXPOSE_REPLY)
          done(new TunnelError('TUN_ERR_PROTOCOL', 'the relay sent an overlong reply'))
        return
      }
      try {
        const reply = JSON.parse(text.slice(0, nl)) as ExposeReply
        if (reply.ok === true && Number.isInteger(reply.port) && typeof reply.host === 'string')
          return done(undefined, reply)
        if (reply.ok === false && typeof reply.code === 'string') return done(undefined, reply)
      } catch {
        // fall through
      }
      done(new TunnelError('TUN_ERR_PROTOCOL', `the relay's reply is malformed: ${text.slice(0, 200)}`))
    }
    const onError = (err: Error) => done(err)
    const onEnd = () =>
      done(new TunnelError('TUN_ERR_PROTOCOL', 'the relay ended the stream without a reply'))
    const timer = setTimeout(
      () =>
        done(
          new TunnelError(
            'TUN_ERR_PATH_DOWN',
            `the relay did not answer within ${EXPOSE_REPLY_TIMEOUT_MS} ms`,
          ),
        ),
      EXPOSE_REPLY_TIMEOUT_MS,
    )
    stream.on('data', onData)
    stream.once('error', onError)
    stream.once('end', onEnd)
  })
}

export function codeOf(text: string): ErrorCode {
  return REFUSALS.includes(text as ErrorCode) ? (text as ErrorCode) : 'TUN_ERR_EXPOSE_DENIED'
}

/** A RESET from the relay as the error it stands for; the relay's reason is `CODE: message`. */
export function explainExpose(err: unknown): Error {
  if (isTunnelError(err, 'TUN_ERR_STREAM_RESET') && err.wireCode !== undefined) {
    const code = BY_RESET[err.wireCode]
    if (code !== undefined) {
      const reason = err.message
        .replace(/^stream \d+ reset by the peer \(code \d+\):? ?/, '')
        .replace(/^TUN_ERR_[A-Z_]+: /, '')
      return new TunnelError(code, reason, { cause: err, wireCode: err.wireCode })
    }
  }
  return err instanceof Error ? err : new TunnelError('TUN_ERR_TRANSPORT', String(err))
}
