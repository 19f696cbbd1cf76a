/**
 * Scopes (pure): where an address can be reached from, after multiserver's idea of scopes. A node
 * that listens on a unix socket, on 127.0.0.1, on 192.168.1.5 and on relay.example.com should not
 * hand all four to everyone: a peer across the internet can use only the last one, and the others
 * leak the node's network layout. {@link formatForScope} writes only the alternatives that the
 * audience can reach.
 *
 *   device  this machine: unix sockets, loopback (127.0.0.0/8, ::1), `localhost` and `*.localhost`
 *           (RFC 6761), and the unspecified addresses 0.0.0.0 and :: (dialing them reaches this machine)
 *   local   the LAN: RFC 1918, CGNAT 100.64.0.0/10, link-local 169.254.0.0/16 and fe80::/10, unique
 *           local fc00::/7; names ending in .local, .lan, .home.arpa (RFC 8375), .internal, or with no dot
 *   public  everything else
 *
 * Classification is by the text of the host only: no DNS lookup (this layer is pure), so a public
 * name that resolves to a private address is still `public`. IPv4-mapped IPv6 (`::ffff:10.0.0.1`)
 * is classed as the IPv4 address it maps.
 */
import { BlockList, isIP } from 'node:net'
import { TunnelError } from '../errors.ts'
import { formatNodeAddresses } from './node.ts'
import type { NodeAddress, Scope, TransportAddress } from './types.ts'

/** The scopes from the narrowest to the widest audience. */
export const SCOPES: readonly Scope[] = ['device', 'local', 'public']

function blockList(v4: readonly string[], v6: readonly string[]): BlockList {
  const list = new BlockList()
  const add = (cidr: string, type: 'ipv4' | 'ipv6'): void => {
    const [net, bits] = cidr.split('/')
    if (bits === undefined) list.addAddress(net ?? '', type)
    else list.addSubnet(net ?? '', Number(bits), type)
  }
  for (const c of v4) add(c, 'ipv4')
  for (const c of v6) add(c, 'ipv6')
  return list
}

const DEVICE_IPS = blockList(['127.0.0.0/8', '0.0.0.0'], ['::1', '::'])
const LOCAL_IPS = blockList(
  ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'],
  ['fc00::/7', 'fe80::/10'],
)
/** DNS suffixes of names that only resolve on a LAN. */
const LOCAL_SUFFIXES = ['.local', '.lan', '.home.arpa', '.internal']

/** The scope of a host given as text (an IP address or a DNS name; IPv6 bare or in brackets). */
export function scopeOfHost(host: string): Scope {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const family = isIP(bare)
  if (family !== 0) {
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (DEVICE_IPS.check(bare, type)) return 'device'
    if (LOCAL_IPS.check(bare, type)) return 'local'
    return 'public'
  }
  const name = (bare.endsWith('.') ? bare.slice(0, -1) : bare).toLowerCase()
  if (name === 'localhost' || name.endsWith('.localhost')) return 'device'
  if (!name.includes('.') || LOCAL_SUFFIXES.some((s) => name.endsWith(s))) return 'local'
  return 'public'
}

/**
 * Where a transport address can be reached from: `device` for unix sockets and loopback, `local`
 * for LAN addresses and LAN-only names, `public` for the rest (see the table at the top).
 */
export function scopeOf(t: TransportAddress): Scope {
  switch (t.kind) {
    case 'unix':
      return 'device'
    case 'tcp':
    case 'ws':
    case 'wss':
      return scopeOfHost(t.host)
    default: {
      const never: never = t
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `unknown transport kind ${JSON.stringify(never)}`)
    }
  }
}

/**
 * True when an address of scope `address` can be reached by someone in scope `from`: a peer on this
 * device reaches everything, a LAN peer reaches local and public addresses, a remote peer only
 * public ones.
 */
export function isReachableFrom(address: Scope, from: Scope): boolean {
  return rank(address) >= rank(from)
}

function rank(scope: Scope): number {
  const i = SCOPES.indexOf(scope)
  if (i === -1) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `unknown scope ${JSON.stringify(scope)} (${SCOPES.join(', ')})`,
    )
  }
  return i
}

/**
 * The address string to give an audience in `scope`: the alternatives of `addresses` it can reach,
 * in their order (multiserver's `stringify(scope)`). Returns `''` when none is reachable (the empty
 * string is not a valid address, so a caller cannot mistake it for one).
 *
 * @throws TunnelError as {@link formatNodeAddresses} for an address that cannot be written.
 */
export function formatForScope(addresses: readonly NodeAddress[], scope: Scope): string {
  const reachable = addresses.filter((a) => isReachableFrom(scopeOf(a.transport), scope))
  return reachable.length === 0 ? '' : formatNodeAddresses(reachable)
}
