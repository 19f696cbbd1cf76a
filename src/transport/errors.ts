/**
 * Turns Node's system errors (`err.code` like ECONNREFUSED) into TunnelErrors with burrow's stable
 * codes, keeping the original as `cause`. Messages say what was being done and where, so a person
 * reading a log line knows which address failed and why without the stack:
 *
 *   connect to tcp 127.0.0.1:7000 refused: nothing is listening there
 *   listen on unix /run/burrow.sock failed: address already in use
 *
 * Errors that are already TunnelErrors pass through unchanged.
 */
import { type ErrorCode, TunnelError, isTunnelError } from '../errors.ts'
import type { TransportAddress } from '../address/types.ts'
import type { TransportKind } from './types.ts'

/** What the transport was doing when the error happened. `io`: reading or writing an open Conn. */
export type TransportOp = 'connect' | 'listen' | 'io'

export interface ErrorContext {
  readonly op: TransportOp
  readonly kind: TransportKind
  /** The place, as describeAddress() or a Conn's endpoints print it (`tcp 127.0.0.1:7000`). */
  readonly where: string
}

/** `host:port`, with brackets around an IPv6 host (`[::1]:7000`), as in URLs and log lines. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** A TransportAddress for messages: `tcp 127.0.0.1:7000`, `unix /run/b.sock`, `ws://[::1]:80/burrow`. */
export function describeAddress(address: TransportAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp ${hostPort(address.host, address.port)}`
    case 'unix':
      return `unix ${address.path}`
    case 'ws':
    case 'wss':
      return `${address.kind}://${hostPort(address.host, address.port)}${address.path}`
    default: {
      const never: never = address
      return String(never)
    }
  }
}

/** The errno-style code of a Node error, looking inside an AggregateError (happy-eyeballs dials). */
export function systemCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') return code
  const inner = (err as { errors?: unknown }).errors
  return Array.isArray(inner) ? systemCode(inner[0]) : undefined
}

/** True for errors raised by the OS or Node's networking (they carry `syscall`), not by a caller. */
export function isSystemError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ('syscall' in err || err instanceof AggregateError)
}

interface Mapping {
  readonly code: ErrorCode
  /** The end of the message: `refused: ${detail}` or `failed: ${detail}`. */
  readonly detail: string
}

function classify(errno: string | undefined, kind: TransportKind, op: TransportOp): Mapping | undefined {
  switch (errno) {
    case 'ECONNREFUSED':
      return { code: 'TUN_ERR_CONNECT_REFUSED', detail: 'nothing is listening there' }
    case 'ENOENT':
      // A unix socket path that does not exist is the unix form of "nothing listening".
      return kind === 'unix' && op === 'connect'
        ? { code: 'TUN_ERR_CONNECT_REFUSED', detail: 'no socket file there, nothing is listening' }
        : undefined
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return { code: 'TUN_ERR_HOST_NOT_FOUND', detail: `the host name could not be resolved (${errno})` }
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code: 'TUN_ERR_HOST_UNREACHABLE', detail: `no route to the host (${errno})` }
    case 'ETIMEDOUT':
      return { code: 'TUN_ERR_CONNECT_TIMEOUT', detail: 'the operating system gave up waiting (ETIMEDOUT)' }
    case 'EADDRINUSE':
      return { code: 'TUN_ERR_ADDRESS_IN_USE', detail: 'the address is already in use' }
    case 'ECONNRESET':
    case 'EPIPE':
      return { code: 'TUN_ERR_CONN_RESET', detail: `the remote side reset the connection (${errno})` }
    default:
      return errno !== undefined && TLS_CERT_ERROR.test(errno)
        ? { code: 'TUN_ERR_TRANSPORT', detail: `the server's TLS certificate was rejected (${errno})` }
        : undefined
  }
}

/** OpenSSL verification codes (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, ...) and Node's ERR_TLS_CERT_*. */
const TLS_CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/

/**
 * Maps `err` to a TunnelError for `context`. Unknown causes become TUN_ERR_TRANSPORT with the
 * original message, so nothing is lost; the original error is always the `cause`.
 */
export function transportError(err: unknown, context: ErrorContext): TunnelError {
  if (isTunnelError(err)) return err
  const errno = systemCode(err)
  const mapped = classify(errno, context.kind, context.op)
  const head =
    context.op === 'connect'
      ? `connect to ${context.where}`
      : context.op === 'listen'
        ? `listen on ${context.where}`
        : `${context.where}`
  if (mapped !== undefined) {
    const verb = mapped.code === 'TUN_ERR_CONNECT_REFUSED' ? 'refused' : 'failed'
    const more = mapped.code === 'TUN_ERR_TRANSPORT' && err instanceof Error ? `: ${err.message}` : ''
    return new TunnelError(mapped.code, `${head} ${verb}: ${mapped.detail}${more}`, { cause: err })
  }
  const why = err instanceof Error ? err.message : String(err)
  return new TunnelError('TUN_ERR_TRANSPORT', `${head} failed: ${why}`, { cause: err })
}
