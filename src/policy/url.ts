/**
 * Target URLs (pure): what a client asks a server peer to reach, `tcp://host:port` or
 * `udp://host:port`. Hand-parsed rather than through `new URL`: for these non-special schemes WHATWG
 * keeps the host opaque (no lowercasing, no IPv4 forms), and we want one error per mistake. The host
 * goes through src/address's `normalizeHost`, so `127.1`, `0x7f.1` and `127.0.0.1` are one target.
 */
import { normalizeHost, hostForUrl } from '../address/host.ts'
import { TunnelError } from '../errors.ts'
import { MAX_PORT, type TargetProtocol } from './targets.ts'

/** A target as a client names it. `host` is bare (IPv6 without brackets) and normalised. */
export interface TargetUrl {
  readonly protocol: TargetProtocol
  readonly host: string
  readonly port: number
}

/** The longest target URL accepted (a 253-character name plus scheme and port fits with room). */
export const MAX_TARGET_URL_LENGTH = 512

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s
const PORT = /^[1-9][0-9]{0,4}$/

function urlError(text: string, why: string, cause?: unknown): TunnelError {
  const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text
  return new TunnelError('TUN_ERR_INVALID_ARGUMENT', `invalid target ${JSON.stringify(shown)}: ${why}`, {
    cause,
  })
}

/**
 * Parses `tcp://host:port` or `udp://host:port` (IPv6 in brackets: `tcp://[::1]:22`). The scheme is
 * case-insensitive; the port is required and 1-65535. Credentials, paths (even a lone `/`), queries
 * and fragments are refused: a target is an address, and silently dropping a part would hide a
 * mistake.
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` quoting the text and saying what is wrong.
 */
export function parseTargetUrl(text: string): TargetUrl {
  if (typeof text !== 'string') throw urlError(String(text), 'a target is a string')
  if (text.length > MAX_TARGET_URL_LENGTH)
    throw urlError(text, `longer than ${MAX_TARGET_URL_LENGTH} characters`)
  const m = SCHEME.exec(text)
  if (m === null) throw urlError(text, 'write it as tcp://host:port or udp://host:port')
  const scheme = (m[1] ?? '').toLowerCase()
  const rest = m[2] ?? ''
  if (scheme !== 'tcp' && scheme !== 'udp') {
    throw urlError(text, `unknown protocol ${JSON.stringify(scheme)} (tcp or udp)`)
  }
  if (rest.includes('@')) throw urlError(text, 'credentials ("user@") are not allowed in a target')
  if (/[/?#]/.test(rest))
    throw urlError(text, 'a target has no path, query or fragment (nothing after the port)')
  if (rest === '') throw urlError(text, 'missing host')
  let hostText: string
  let portText: string
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']')
    if (end === -1) throw urlError(text, 'missing "]" after the IPv6 address')
    hostText = rest.slice(1, end)
    if (!hostText.includes(':')) throw urlError(text, 'brackets are for IPv6 addresses only')
    const after = rest.slice(end + 1)
    if (after === '') throw urlError(text, `missing port (write ${scheme}://[${hostText}]:PORT)`)
    if (!after.startsWith(':'))
      throw urlError(text, `expected ":PORT" after "]", got ${JSON.stringify(after)}`)
    portText = after.slice(1)
  } else {
    const colon = rest.lastIndexOf(':')
    if (colon === -1) throw urlError(text, `missing port (write ${scheme}://${rest}:PORT)`)
    hostText = rest.slice(0, colon)
    portText = rest.slice(colon + 1)
    if (hostText.includes(':')) throw urlError(text, `IPv6 hosts go in brackets: ${scheme}://[::1]:22`)
  }
  if (hostText === '') throw urlError(text, 'missing host')
  if (portText === '') throw urlError(text, 'missing port after ":"')
  if (portText === '0') throw urlError(text, 'port 0 is not a target (ports are 1-65535)')
  if (!PORT.test(portText) || Number(portText) > MAX_PORT) {
    throw urlError(
      text,
      `port ${JSON.stringify(portText)} is not a decimal 1-${MAX_PORT} without leading zeros`,
    )
  }
  let host: string
  try {
    host = normalizeHost(hostText)
  } catch (err) {
    throw urlError(text, err instanceof Error ? err.message : 'invalid host', err)
  }
  return { protocol: scheme, host, port: Number(portText) }
}

/** The canonical text of a target: `parseTargetUrl(formatTargetUrl(t))` gives `t` back. */
export function formatTargetUrl(target: TargetUrl): string {
  return `${target.protocol}://${hostForUrl(target.host)}:${target.port}`
}
