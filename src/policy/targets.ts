/**
 * Target allow-lists (pure): which addresses and ports a server peer lets its clients reach, one list
 * per protocol (`--allow-tcp RULE`, `--allow-udp RULE`, repeatable). DESIGN.md, "Security model".
 *
 * ```
 * rule   = cidr [ ":" ports ]  |  "[" cidr6 "]" [ ":" ports ]
 * cidr   = address [ "/" prefix ]          ; a bare address is /32 or /128
 * ports  = "*" | item *( "," item )         ; "*" (every port) when omitted
 * item   = port | port "-" port             ; 1-65535, decimal, no leading zeros
 * ```
 *
 * IPv6 goes in brackets when ports follow (`[::1]:22`, `[fd00::/8]:80-90`); unbracketed text with
 * two or more colons is an IPv6 CIDR without ports. Host names are refused: a name is resolved per
 * connection and the *address* is checked (resolve.ts), so a rule names addresses only.
 *
 * Three choices a reader should know:
 * - **An empty list allows nothing.** Forgetting `--allow-tcp` must fail closed (tunnel-rs allowed
 *   everything on an empty list).
 * - **A CIDR with host bits set is refused** (`10.1.2.3/8`): it is a typo for either `10.0.0.0/8` or
 *   `10.1.2.3/32`, and guessing the wider one would open access nobody asked for.
 * - **IPv4-mapped IPv6 counts as IPv4** on both sides (ip.ts): `::ffff:10.0.0.0/104` is the rule
 *   `10.0.0.0/8`, the target `::ffff:10.0.0.1` is `10.0.0.1`, and an IPv6 rule wider than the
 *   mapped range (`::/0`) does not reach IPv4. `node:net` `BlockList` was not used: in Node 20 it
 *   matches `::/0` against every IPv4 address and a v4 rule against mapped v6, and it has no ports.
 */
import { TunnelError } from '../errors.ts'
import {
  MAPPED_PREFIX,
  bitsOf,
  formatIp,
  isMapped,
  isUnspecified,
  maskOf,
  parseIp,
  parseIpRaw,
  type IpFamily,
} from './ip.ts'

/** The protocols a target can use. */
export type TargetProtocol = 'tcp' | 'udp'

/** An inclusive range of ports; a single port has `from === to`. */
export interface PortRange {
  readonly from: number
  readonly to: number
}

/** One parsed rule: a network and the ports allowed on it. */
export interface TargetRule {
  readonly family: IpFamily
  /** The network address in canonical text (IPv4-mapped rules are IPv4 rules). */
  readonly network: string
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefix: number
  /** Sorted, merged, non-overlapping ranges; `*` is {@link ALL_PORTS}. */
  readonly ports: readonly PortRange[]
}

/** The highest TCP/UDP port. Port 0 is never a target (it means "any port" to a listener). */
export const MAX_PORT = 65535
/** What `*` (or no port part) means. */
export const ALL_PORTS: readonly PortRange[] = Object.freeze([Object.freeze({ from: 1, to: MAX_PORT })])
/** The longest rule text accepted: rules come from the command line and config files, bound them anyway. */
export const MAX_RULE_LENGTH = 1024

const isAllPorts = (ports: readonly PortRange[]): boolean =>
  ports.length === 1 && ports[0]?.from === 1 && ports[0].to === MAX_PORT

const PORT = /^[1-9][0-9]{0,4}$/
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/

function ruleError(text: string, why: string): TunnelError {
  return new TunnelError('TUN_ERR_INVALID_ARGUMENT', `invalid target rule ${JSON.stringify(text)}: ${why}`)
}

function parsePort(rule: string, text: string): number {
  if (text === '0') throw ruleError(rule, 'port 0 is not a target port (ports are 1-65535)')
  if (!PORT.test(text) || Number(text) > MAX_PORT) {
    throw ruleError(rule, `port ${JSON.stringify(text)} is not a decimal 1-${MAX_PORT} without leading zeros`)
  }
  return Number(text)
}

/** Sorts ranges and merges the ones that overlap or touch, so each port set has one spelling. */
function mergeRanges(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from)
  const out: PortRange[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && r.from <= last.to + 1)
      out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) }
    else out.push({ from: r.from, to: r.to })
  }
  return out
}

function parsePorts(rule: string, text: string): readonly PortRange[] {
  if (text === '*') return ALL_PORTS
  if (text === '')
    throw ruleError(rule, 'nothing after ":" (write a port list, or leave ":" out for every port)')
  const ranges = text.split(',').map((item): PortRange => {
    if (item === '') throw ruleError(rule, 'empty item in the port list')
    if (item === '*') throw ruleError(rule, '"*" stands alone, not inside a port list')
    const dash = item.indexOf('-')
    if (dash === -1) {
      const port = parsePort(rule, item)
      return { from: port, to: port }
    }
    const from = parsePort(rule, item.slice(0, dash))
    const to = parsePort(rule, item.slice(dash + 1))
    if (from > to) throw ruleError(rule, `port range ${JSON.stringify(item)} runs backwards`)
    return { from, to }
  })
  const merged = mergeRanges(ranges)
  return isAllPorts(merged) ? ALL_PORTS : merged
}

function parseCidr(rule: string, text: string): Omit<TargetRule, 'ports'> {
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const raw = parseIpRaw(addressText)
  if (raw === undefined) {
    if (addressText.includes('%')) throw ruleError(rule, 'IPv6 zone ids ("%eth0") are not allowed in rules')
    if (/^[A-Za-z0-9.-]+$/.test(addressText) && /[A-Za-z]/.test(addressText) && !addressText.includes(':')) {
      throw ruleError(rule, `${JSON.stringify(addressText)} is a host name; rules take IP addresses or CIDRs`)
    }
    throw ruleError(rule, `${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`)
  }
  const bits = bitsOf(raw.family)
  let prefix = bits
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1)
    if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
      throw ruleError(
        rule,
        `prefix length ${JSON.stringify(prefixText)} is not 0-${bits} for IPv${raw.family}`,
      )
    }
    prefix = Number(prefixText)
  }
  const network = raw.value & maskOf(raw.family, prefix)
  if (network !== raw.value) {
    const suggestion = formatIp({ family: raw.family, value: network })
    throw ruleError(
      rule,
      `${addressText}/${prefix} has host bits set: write ${suggestion}/${prefix} for the network, or ${addressText} for one address`,
    )
  }
  // A rule inside ::ffff:0:0/96 names IPv4 addresses: make it the IPv4 rule it stands for.
  if (isMapped(raw) && prefix >= MAPPED_PREFIX) {
    const value = raw.value & 0xffffffffn
    return { family: 4, network: formatIp({ family: 4, value }), prefix: prefix - MAPPED_PREFIX }
  }
  return { family: raw.family, network: formatIp(raw), prefix }
}

/**
 * Parses one rule (see the grammar above).
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` quoting the rule and naming the part that is wrong.
 */
export function parseTargetRule(text: string): TargetRule {
  if (typeof text !== 'string') throw ruleError(String(text), 'a rule is a string')
  if (text.length === 0) throw ruleError(text, 'a rule is not empty')
  if (text.length > MAX_RULE_LENGTH) {
    throw ruleError(`${text.slice(0, 40)}...`, `longer than ${MAX_RULE_LENGTH} characters`)
  }
  if (/\s/.test(text)) throw ruleError(text, 'a rule has no spaces (one rule per --allow flag)')
  let cidr: string
  let ports = '*'
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    if (end === -1) throw ruleError(text, 'missing "]" after the bracketed IPv6 address')
    cidr = text.slice(1, end)
    const after = text.slice(end + 1)
    if (!cidr.includes(':')) throw ruleError(text, 'brackets are for IPv6 addresses only')
    if (after !== '') {
      if (!after.startsWith(':'))
        throw ruleError(text, `expected ":PORTS" after "]", got ${JSON.stringify(after)}`)
      ports = after.slice(1)
    }
  } else {
    const colons = text.split(':').length - 1
    cidr = text
    if (colons === 1) {
      const colon = text.indexOf(':')
      cidr = text.slice(0, colon)
      ports = text.slice(colon + 1)
    } else if (colons > 1) {
      const [address = '', prefix = ''] = text.split('/')
      if (parseIpRaw(address) === undefined || prefix.includes(':')) {
        throw ruleError(text, 'not an IPv6 CIDR (put IPv6 in brackets when ports follow: "[fd00::/8]:22")')
      }
    }
  }
  return { ...parseCidr(text, cidr), ports: parsePorts(text, ports) }
}

/** The canonical text of a rule: parses back to the same rule. Ports and a full prefix are left out when implied. */
export function formatTargetRule(rule: TargetRule): string {
  const net = rule.prefix === bitsOf(rule.family) ? rule.network : `${rule.network}/${rule.prefix}`
  if (isAllPorts(rule.ports)) return net
  const ports = rule.ports.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',')
  return rule.family === 6 ? `[${net}]:${ports}` : `${net}:${ports}`
}

interface CompiledRule {
  readonly family: IpFamily
  readonly base: bigint
  readonly mask: bigint
  readonly ports: readonly PortRange[]
}

/**
 * An allow-list for one protocol. Immutable: a changed list is a new policy, so a check in flight
 * never sees half of an update.
 */
export class TargetPolicy {
  /** The rules, parsed, in the order given. */
  readonly rules: readonly TargetRule[]
  readonly #compiled: readonly CompiledRule[]

  /**
   * Builds a policy from rule texts or rules. Texts are parsed; rule objects are checked by a round
   * trip through their text (so one built by hand obeys the same grammar).
   *
   * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` for the first bad rule.
   */
  constructor(rules: Iterable<TargetRule | string> = []) {
    const parsed = [...rules].map((r) => parseTargetRule(typeof r === 'string' ? r : formatTargetRule(r)))
    this.rules = Object.freeze(parsed)
    this.#compiled = parsed.map((r) => {
      const mask = maskOf(r.family, r.prefix)
      return { family: r.family, base: (parseIp(r.network)?.value ?? 0n) & mask, mask, ports: r.ports }
    })
  }

  /** True when the policy has no rules, and so allows nothing. */
  get isEmpty(): boolean {
    return this.rules.length === 0
  }

  /**
   * True when some rule covers `ip` and `port`. Never throws: a host name, a malformed address, the
   * unspecified address or a port outside 1-65535 is simply not allowed. Resolve names first
   * (resolve.ts) and dial the address that was checked.
   */
  allows(ip: string, port: number): boolean {
    if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) return false
    const addr = parseIp(ip)
    if (addr === undefined || isUnspecified(addr)) return false
    return this.#compiled.some(
      (r) =>
        r.family === addr.family &&
        (addr.value & r.mask) === r.base &&
        r.ports.some((range) => port >= range.from && port <= range.to),
    )
  }
}
