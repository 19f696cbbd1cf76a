/**
 * IP addresses as numbers (pure): the policy layer compares addresses by value, never by spelling,
 * so `::1`, `0:0:0:0:0:0:0:1` and `::0.0.0.1`-style forms cannot slip past a rule written another way.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2) are folded to the IPv4 address they
 * stand for: a dual-stack socket dialing `::ffff:10.0.0.1` reaches 10.0.0.1, so for a policy it *is*
 * 10.0.0.1. Without the fold, an IPv4 rule could be bypassed (or an IPv6 rule stretched to IPv4) by
 * writing the mapped form. Other embeddings (IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`,
 * 6to4) are not folded: the kernel does not dial them as IPv4, they go out as IPv6 packets.
 */
import { isIP } from 'node:net'

/** An address family, as `node:net` and `dns.lookup` number them. */
export type IpFamily = 4 | 6

/** An IP address as its family and 32- or 128-bit value. */
export interface IpValue {
  readonly family: IpFamily
  readonly value: bigint
}

/** Bits in an address of each family. */
export const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128)

/** The high 96 bits of an IPv4-mapped IPv6 address: `::ffff:0:0/96`. */
const MAPPED_HIGH = 0xffffn
/** Prefix length of the mapped range `::ffff:0:0/96`. */
export const MAPPED_PREFIX = 96

/** The network mask of a prefix length, as a value of the family's width. */
export function maskOf(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(bitsOf(family))
  const host = bits - BigInt(prefix)
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n)
}

function v4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n)
}

/** Expands an IPv6 text (already checked by `isIP`) to its 128-bit value. */
function v6Value(text: string): bigint {
  let hex = text
  const tail = text.slice(text.lastIndexOf(':') + 1)
  if (tail.includes('.')) {
    const v4 = v4Value(tail)
    hex = `${text.slice(0, text.length - tail.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [left = '', right] = hex.split('::')
  const head = left === '' ? [] : left.split(':')
  const rest = right === undefined || right === '' ? [] : right.split(':')
  const groups =
    right === undefined ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
}

/**
 * Reads an IP address as written, without folding mapped addresses. Returns undefined for anything
 * that is not a plain IPv4 (dotted decimal) or IPv6 address: host names, brackets, IPv6 zone ids
 * (`fe80::1%eth0` names an interface of one machine; a rule or target cannot carry it).
 */
export function parseIpRaw(text: string): IpValue | undefined {
  if (typeof text !== 'string' || text.includes('%')) return undefined
  switch (isIP(text)) {
    case 4:
      return { family: 4, value: v4Value(text) }
    case 6:
      return { family: 6, value: v6Value(text) }
    default:
      return undefined
  }
}

/** True when a 128-bit value lies in `::ffff:0:0/96`. */
export const isMapped = (ip: IpValue): boolean => ip.family === 6 && ip.value >> 32n === MAPPED_HIGH

/** The IPv4 address an IPv4-mapped IPv6 address stands for; any other address unchanged. */
export function unmap(ip: IpValue): IpValue {
  return isMapped(ip) ? { family: 4, value: ip.value & 0xffffffffn } : ip
}

/** Reads an IP address and folds the IPv4-mapped form to IPv4: the value a policy checks. */
export function parseIp(text: string): IpValue | undefined {
  const ip = parseIpRaw(text)
  return ip === undefined ? undefined : unmap(ip)
}

/**
 * The canonical text of an address: dotted decimal, or RFC 5952 IPv6 (lowercase, longest zero run
 * compressed), through the WHATWG URL serializer so it spells IPv6 exactly as src/address does.
 */
export function formatIp(ip: IpValue): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.')
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  )
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

/**
 * True for the unspecified address (`0.0.0.0`, `::`). It is never a target, whatever the rules say:
 * Linux dials it as the local host, so a rule like `0.0.0.0/8` would otherwise reach loopback.
 */
export const isUnspecified = (ip: IpValue): boolean => ip.value === 0n
