/**
 * Hosts and ports inside typed addresses (pure). Every host, whether it came from `tcp:` or from a
 * `ws://` URL, goes through the same WHATWG host parser, so one host has one spelling: DNS names are
 * lowercased, IPv6 is compressed (`0:0:0:0:0:0:0:1` -> `::1`) and the numeric IPv4 forms that
 * resolvers accept are made dotted (`127.1`, `2130706433` -> `127.0.0.1`). Without that, `127.1`
 * would look like a DNS name and be classed `public` by scope.ts while it reaches loopback.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { TunnelError } from '../errors.ts'

/** The longest DNS name (RFC 1035: 253 characters in text form without the trailing dot). */
export const MAX_HOST_LENGTH = 253
/** The longest DNS label (RFC 1035). */
export const MAX_LABEL_LENGTH = 63

/** What a DNS name or IPv4 address may be written with before normalising (checked first so that `@`, `/`, `?` cannot steer the URL parser). */
const HOST_INPUT = /^[A-Za-z0-9._-]+$/
/** One label of a normalised DNS name: lowercase letters, digits, `-` and `_` (SRV-style names). */
const LABEL = /^[a-z0-9_-]+$/
/** A port: decimal, no sign, no leading zero (so each port has one spelling). */
const PORT = /^(?:0|[1-9][0-9]{0,4})$/
/** The highest TCP/UDP port. */
export const MAX_PORT = 65535

function hostError(host: string, why: string): TunnelError {
  return new TunnelError('TUN_ERR_ADDRESS_SYNTAX', `invalid host ${JSON.stringify(host)}: ${why}`)
}

/**
 * The canonical, bare (unbracketed) form of a host: an IPv4 address, an IPv6 address, or a DNS name.
 * Non-ASCII names are not accepted (the grammar cannot carry them: write the xn-- form).
 * IPv6 zone ids (`fe80::1%eth0`) are not accepted either: WHATWG URLs cannot carry them, and a zone
 * names an interface of one machine, which an address shared with others should not.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` saying what is wrong with it.
 */
export function normalizeHost(host: string): string {
  if (typeof host !== 'string' || host.length === 0) throw hostError(String(host), 'a host is not empty')
  if (host.includes(':')) {
    if (host.includes('%')) throw hostError(host, 'IPv6 zone ids are not supported')
    if (!isIPv6(host)) throw hostError(host, 'not an IPv6 address (a host with ":" must be one)')
    try {
      return new URL(`http://[${host}]/`).hostname.slice(1, -1)
    } catch {
      throw hostError(host, 'not an IPv6 address a URL can carry')
    }
  }
  if (!HOST_INPUT.test(host)) {
    const bad = [...host].find((c) => !/[A-Za-z0-9._-]/.test(c)) ?? ''
    throw hostError(host, `${JSON.stringify(bad)} is not allowed (DNS names use a-z, 0-9, ".", "-", "_")`)
  }
  let name: string
  try {
    name = new URL(`http://${host}/`).hostname
  } catch {
    throw hostError(host, 'not a valid DNS name or IPv4 address')
  }
  if (isIPv4(name)) return name
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.')
  if (name.length > MAX_HOST_LENGTH + 1) throw hostError(host, `longer than ${MAX_HOST_LENGTH} characters`)
  for (const label of labels) {
    if (label.length === 0) throw hostError(host, 'empty label')
    if (label.length > MAX_LABEL_LENGTH) throw hostError(host, `a label is longer than ${MAX_LABEL_LENGTH}`)
    if (!LABEL.test(label)) throw hostError(host, `label ${JSON.stringify(label)} is not a DNS label`)
  }
  return name
}

/** A host as it appears inside a URL or after `[`: IPv6 in brackets, anything else as is. */
export const hostForUrl = (host: string): string => (host.includes(':') ? `[${host}]` : host)

/**
 * A port from its decimal text: 0-65535, no sign, no leading zeros. 0 is allowed on purpose: for a
 * listen address it means "any free port" (the listener reports the real one).
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` naming the text.
 */
export function parsePort(text: string): number {
  if (!PORT.test(text) || Number(text) > MAX_PORT) {
    throw new TunnelError(
      'TUN_ERR_ADDRESS_SYNTAX',
      `invalid port ${JSON.stringify(text)}: a port is a decimal integer 0-${MAX_PORT} without leading zeros`,
    )
  }
  return Number(text)
}

/** Checks a port given as a number (a typed address built in code). */
export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) {
    throw new TunnelError(
      'TUN_ERR_ADDRESS_SYNTAX',
      `invalid port ${String(port)}: not an integer 0-${MAX_PORT}`,
    )
  }
  return port
}
