/**
 * The typed address layer (pure): grammar-level alternatives (parse.ts) to {@link NodeAddress}es a
 * dialer or listener can use, and back. This build knows these protocols and transforms:
 *
 * | text                          | typed                                   | notes                                  |
 * |-------------------------------|-----------------------------------------|----------------------------------------|
 * | `tcp:host:port`               | `{ kind: 'tcp', host, port }`           | `net:` is read as an alias, written as `tcp:` |
 * | `tcp:!:!:1:7000`              | `{ kind: 'tcp', host: '::1', port }`    | canonical IPv6: colons escaped         |
 * | `tcp:[::1]:7000`              | the same                                | bracketed IPv6, accepted on input      |
 * | `unix:/run/burrow.sock`       | `{ kind: 'unix', path }`                | escape `:` in the path as `!:`         |
 * | `ws://host[:port][/path]`     | `{ kind: 'ws', host, port, path }`      | WHATWG URL; port 80, path `/` default  |
 * | `wss://host[:port][/path]`    | `{ kind: 'wss', host, port, path }`     | port 443 by default                    |
 * | `...~noise:<id>`              | `id`                                    | the node that must answer (52-char id) |
 * | `...~noise:<r>~tunnel:<id>`   | `id: r, tunnel: id`                     | peer `<id>` reached through relay `<r>` |
 *
 * The grammar splits `ws://host:8080/x` at its colons (name `ws`, args `//host`, `8080/x`), so the
 * ws arguments are joined back with `:` and read as a URL; `~`, `;` and `!` inside a URL must still
 * be escaped with `!`.
 */
import { TunnelError, isTunnelError } from '../errors.ts'
import { publicKeyFromId } from '../identity/keys.ts'
import { checkPort, hostForUrl, normalizeHost, parsePort } from './host.ts'
import { formatAddress, parseAddress } from './parse.ts'
import type { AddressAlternative, AddressPart, NodeAddress, TransportAddress } from './types.ts'

/** Protocol names this build can dial or listen on (`net` is an alias of `tcp`). */
export const SUPPORTED_PROTOCOLS: readonly string[] = ['tcp', 'net', 'unix', 'ws', 'wss']
/** Transform names this build can apply. */
export const SUPPORTED_TRANSFORMS: readonly string[] = ['noise', 'tunnel']
/** The port a ws/wss URL means when it names none (RFC 6455). */
export const DEFAULT_PORTS = { ws: 80, wss: 443 } as const

export interface ParseNodeAddressesOptions {
  /**
   * Skip alternatives whose protocol or transform this build does not know, instead of failing:
   * what a dialer wants, since it tries the alternatives it understands. Malformed alternatives of
   * known protocols still fail, and so does an address with no usable alternative left.
   */
  readonly skipUnsupported?: boolean
}

const syntax = (why: string): TunnelError => new TunnelError('TUN_ERR_ADDRESS_SYNTAX', why)

function tcpOf(args: readonly string[]): TransportAddress {
  let host: string
  let port: string
  if (args[0]?.startsWith('[')) {
    // Bracketed IPv6, whose colons the grammar split: tcp:[::1]:7000 -> '[', '', '1]', '7000'.
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(args.join(':'))
    if (m === null) throw syntax('a bracketed host is written tcp:[ipv6]:port')
    host = m[1] ?? ''
    port = m[2] ?? ''
    if (!host.includes(':')) throw syntax('brackets are for IPv6 hosts only')
  } else if (args.length === 2) {
    host = args[0] ?? ''
    port = args[1] ?? ''
  } else {
    throw syntax(
      `tcp takes a host and a port (tcp:host:port), got ${args.length} argument(s); ` +
        'write an IPv6 host with escaped colons (tcp:!:!:1:7000) or in brackets (tcp:[::1]:7000)',
    )
  }
  return { kind: 'tcp', host: normalizeHost(host), port: parsePort(port) }
}

function unixOf(args: readonly string[]): TransportAddress {
  const path = args[0]
  if (args.length !== 1 || path === undefined || path === '') {
    throw syntax(`unix takes one argument, the socket path (escape ':' in it as '!:'), got ${args.length}`)
  }
  return { kind: 'unix', path }
}

type WsAddress = Extract<TransportAddress, { kind: 'ws' | 'wss' }>

function wsOf(kind: WsAddress['kind'], args: readonly string[]): WsAddress {
  const rest = args.join(':')
  const authority = /^\/\/([^/?#\\]*)/.exec(rest)?.[1]
  if (authority === undefined || authority === '')
    throw syntax(`${kind} takes a URL: ${kind}://host[:port][/path]`)
  if (authority.includes('@')) throw syntax(`a ${kind} URL may not carry credentials (user@)`)
  if (rest.includes('#')) throw syntax(`a ${kind} URL may not have a fragment (#)`)
  let url: URL
  try {
    url = new URL(`${kind}:${rest}`)
  } catch {
    throw syntax(`not a valid ${kind} URL: ${kind}:${rest}`)
  }
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return {
    kind,
    host: normalizeHost(bare),
    port: url.port === '' ? DEFAULT_PORTS[kind] : Number(url.port),
    path: url.pathname + url.search,
  }
}

function transportOf(part: AddressPart): TransportAddress {
  switch (part.name) {
    case 'tcp':
    case 'net':
      return tcpOf(part.args)
    case 'unix':
      return unixOf(part.args)
    case 'ws':
    case 'wss':
      return wsOf(part.name, part.args)
    default:
      throw new TunnelError('TUN_ERR_ADDRESS_UNSUPPORTED', `unsupported protocol "${part.name}"`)
  }
}

/** The first protocol or transform name in `alt` that this build does not know, if any. */
function unsupportedIn(
  alt: AddressAlternative,
): { kind: 'protocol' | 'transform'; name: string } | undefined {
  if (!SUPPORTED_PROTOCOLS.includes(alt.protocol.name)) return { kind: 'protocol', name: alt.protocol.name }
  const t = alt.transforms.find((part) => !SUPPORTED_TRANSFORMS.includes(part.name))
  return t === undefined ? undefined : { kind: 'transform', name: t.name }
}

/** Re-raises a burrow error with the alternative it is about in front of its message, same code. */
function inContext<T>(context: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (!isTunnelError(err)) throw err
    throw new TunnelError(err.code, `${context}: ${err.message}`, { cause: err })
  }
}

/**
 * Reads one alternative as a typed address: its protocol as a {@link TransportAddress}, and the id
 * from a `noise:<id>` transform, if any. Hosts are normalised (host.ts), so `tcp:LOCALHOST:80` and
 * `tcp:localhost:80` give the same address.
 *
 * Names are checked before arguments, so an alternative that uses anything this build does not know
 * is always `TUN_ERR_ADDRESS_UNSUPPORTED` (which {@link parseNodeAddresses} can skip), never a
 * syntax error about arguments it cannot judge.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_UNSUPPORTED` naming an unknown protocol or transform;
 *   `TUN_ERR_ADDRESS_SYNTAX` for arguments a known protocol rejects (host, port, URL, arity), or an
 *   alternative no string can express; `TUN_ERR_ID_INVALID` for a malformed noise id.
 */
export function toNodeAddress(alt: AddressAlternative): NodeAddress {
  const text = formatAddress([alt]) // also checks the structure is one the grammar can express
  return inContext(`in "${text}"`, () => {
    const unsupported = unsupportedIn(alt)
    if (unsupported !== undefined) {
      const known = unsupported.kind === 'protocol' ? SUPPORTED_PROTOCOLS : SUPPORTED_TRANSFORMS
      throw new TunnelError(
        'TUN_ERR_ADDRESS_UNSUPPORTED',
        `unsupported ${unsupported.kind} "${unsupported.name}" (known: ${known.join(', ')})`,
      )
    }
    const protocol = alt.protocol
    const transport = transportOf(protocol)
    let id: string | undefined
    let tunnel: string | undefined
    for (const t of alt.transforms) {
      if (t.args.length !== 1) throw syntax(`${t.name} takes one argument, a node id, got ${t.args.length}`)
      const arg = t.args[0] ?? ''
      if (t.name === 'noise') {
        if (id !== undefined) throw syntax('more than one noise transform')
        if (tunnel !== undefined) throw syntax('noise must come before tunnel')
        id = arg
      } else {
        if (tunnel !== undefined) throw syntax('more than one tunnel transform')
        if (id === undefined)
          throw syntax('tunnel needs the relay named first: ~noise:<relay id>~tunnel:<peer id>')
        tunnel = arg
      }
      publicKeyFromId(arg)
    }
    if (id === undefined) return { transport }
    return tunnel === undefined ? { transport, id } : { transport, id, tunnel }
  })
}

/**
 * Parses an address string into typed addresses, in the string's order of preference.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` (grammar, or a bad argument to a known protocol),
 *   `TUN_ERR_ID_INVALID`, or `TUN_ERR_ADDRESS_UNSUPPORTED`: for the first unknown name, or, with
 *   `skipUnsupported`, when no alternative is left.
 */
export function parseNodeAddresses(text: string, options: ParseNodeAddressesOptions = {}): NodeAddress[] {
  const alternatives = parseAddress(text)
  const out: NodeAddress[] = []
  const skipped: string[] = []
  alternatives.forEach((alt, i) => {
    const unsupported = options.skipUnsupported === true ? unsupportedIn(alt) : undefined
    if (unsupported !== undefined) skipped.push(unsupported.name)
    else out.push(inContext(`alternative ${i + 1}`, () => toNodeAddress(alt)))
  })
  if (out.length === 0) {
    throw new TunnelError(
      'TUN_ERR_ADDRESS_UNSUPPORTED',
      `no alternative of the address is supported (skipped: ${skipped.join(', ')}; known protocols: ${SUPPORTED_PROTOCOLS.join(', ')})`,
    )
  }
  return out
}

function protocolPart(t: TransportAddress): AddressPart {
  switch (t.kind) {
    case 'tcp':
      return { name: 'tcp', args: [normalizeHost(t.host), String(checkPort(t.port))] }
    case 'unix':
      if (typeof t.path !== 'string' || t.path === '') throw syntax('a unix address has a non-empty path')
      return { name: 'unix', args: [t.path] }
    case 'ws':
    case 'wss': {
      const host = normalizeHost(t.host)
      const port = checkPort(t.port)
      if (typeof t.path !== 'string' || !t.path.startsWith('/'))
        throw syntax(`a ${t.kind} path starts with "/"`)
      const url = `//${hostForUrl(host)}${port === DEFAULT_PORTS[t.kind] ? '' : `:${port}`}${t.path === '/' ? '' : t.path}`
      const part = { name: t.kind, args: url.split(':') }
      const back = wsOf(t.kind, part.args)
      if (back.path !== t.path) {
        throw syntax(
          `${t.kind} path ${JSON.stringify(t.path)} is not in URL form (it reads back as "${back.path}")`,
        )
      }
      return part
    }
    default: {
      const never: never = t
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `unknown transport kind ${JSON.stringify(never)}`)
    }
  }
}

/**
 * The grammar-level alternative for a typed address: the inverse of {@link toNodeAddress}, writing
 * `tcp:` (never `net:`), IPv6 tcp hosts with escaped colons, and ws URLs without their default port
 * or a lone `/` path. Hosts are normalised on the way (`Example.COM` -> `example.com`); a ws path
 * that a URL would rewrite (a space, `#`, `..`) is refused rather than silently changed.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` for a host, port or path no address can carry,
 *   `TUN_ERR_ID_INVALID` for a malformed id.
 */
export function fromNodeAddress(a: NodeAddress): AddressAlternative {
  const protocol = protocolPart(a.transport)
  const transforms: AddressPart[] = []
  if (a.id !== undefined) {
    publicKeyFromId(a.id)
    transforms.push({ name: 'noise', args: [a.id] })
  }
  if (a.tunnel !== undefined) {
    if (a.id === undefined) throw syntax('a tunnel address needs the relay id')
    publicKeyFromId(a.tunnel)
    transforms.push({ name: 'tunnel', args: [a.tunnel] })
  }
  const alt = { protocol, transforms }
  formatAddress([alt]) // throws for what no string can carry (a unix path with a space, say)
  return alt
}

/** One typed address as a string (see {@link fromNodeAddress}); it parses back to the same address. */
export function formatNodeAddress(a: NodeAddress): string {
  return formatAddress([fromNodeAddress(a)])
}

/** Several typed addresses as one string of `;`-separated alternatives, in the given order. */
export function formatNodeAddresses(list: readonly NodeAddress[]): string {
  return formatAddress(list.map(fromNodeAddress))
}
