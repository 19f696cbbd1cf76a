/**
 * Who may open public ports on a relay, and which (pure): the `--expose-allow` file format and the
 * port sets it names. By default nobody may expose: a public port is an open door on the relay's
 * address, so an operator grants each one by peer id.
 *
 * ```
 * # <peer id>                                           <ports>
 * 3sl6zfbvkxq6ybsd4jm3nxwwt6kwbmmhqewm4ewyf6gsgk6zqbaa   *              # any port of --expose-ports
 * u3a52hzifbxo3wc3pkkarnmhw46zkxpwiytwshfhqhkdhqpqbqxa   20080
 * dwxq4pz3bt4xv7hs2nmtbomzkcb3vy5cqs2yo7brd5h6vdvbjhpq   20100-20199,8443
 * ```
 *
 * ports = "*" | item *( "," item ), item = port | port "-" port, ports 1-65535 (the grammar of the
 * port part of a target rule, policy/targets.ts). `*` means every port of the relay's range
 * (`--expose-ports`, {@link DEFAULT_EXPOSE_RANGE}); explicit ports are granted as written, even
 * outside that range: the operator named them. An id listed twice gets the union of its lines.
 * Errors name the file and the 1-based line, because the file is edited by hand and reloaded while
 * the relay runs.
 */
import { TunnelError } from '../errors.ts'
import { isId } from '../identity/keys.ts'
import { MAX_ALLOW_FILE_BYTES } from '../policy/allow-file.ts'
import { MAX_PORT, type PortRange } from '../policy/targets.ts'

/** The ports a relay hands out when a peer asks for none, and what `*` means: 20000-29999. */
export const DEFAULT_EXPOSE_RANGE: PortRange = Object.freeze({ from: 20000, to: 29999 })

/** A peer's grant: every port of the relay's range, or exactly these (sorted, merged) ranges. */
export type ExposePorts = '*' | readonly PortRange[]

/** One peer's line (or lines, merged). */
export interface ExposeGrant {
  readonly id: string
  readonly ports: ExposePorts
}

const PORT = /^[1-9][0-9]{0,4}$/

function lineError(source: string, line: number, why: string): TunnelError {
  return new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${source}:${line}: ${why}`)
}

function parsePort(text: string, fail: (why: string) => never): number {
  if (!PORT.test(text) || Number(text) > MAX_PORT) fail(`port ${JSON.stringify(text)} is not 1-${MAX_PORT}`)
  return Number(text)
}

/** Sorts ranges and merges those that overlap or touch. */
export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = []
  for (const r of [...ranges].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1]
    if (last !== undefined && r.from <= last.to + 1)
      out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) }
    else out.push({ from: r.from, to: r.to })
  }
  return out
}

/**
 * Parses a port list: `*`, `8080`, `20000-20099`, `80,443,20000-20099`.
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` naming the bad item (prefixed with `what`).
 */
export function parsePortList(text: string, what = 'port list'): ExposePorts {
  const fail = (why: string): never => {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${what} ${JSON.stringify(text)}: ${why}`)
  }
  if (text === '*') return '*'
  if (text === '') fail('empty (write "*" for any port of the range)')
  const ranges = text.split(',').map((item): PortRange => {
    if (item === '') fail('empty item')
    const dash = item.indexOf('-')
    if (dash === -1) {
      const port = parsePort(item, fail)
      return { from: port, to: port }
    }
    const from = parsePort(item.slice(0, dash), fail)
    const to = parsePort(item.slice(dash + 1), fail)
    if (from > to) fail(`range ${JSON.stringify(item)} runs backwards`)
    return { from, to }
  })
  return mergePortRanges(ranges)
}

/** Parses `--expose-ports`: one range `FROM-TO` (or a single port). */
export function parsePortRange(text: string): PortRange {
  const ports = parsePortList(text, '--expose-ports')
  if (ports === '*' || ports.length !== 1)
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `--expose-ports ${JSON.stringify(text)}: one range FROM-TO`,
    )
  return ports[0] as PortRange
}

/**
 * Parses the text of an expose-allow file. `source` names it in messages (usually its path).
 *
 * @throws TunnelError `TUN_ERR_ID_INVALID` or `TUN_ERR_INVALID_ARGUMENT`, with `source:line`.
 */
export function parseExposeAllowFile(text: string, source: string): ExposeGrant[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_ALLOW_FILE_BYTES)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${source}: larger than ${MAX_ALLOW_FILE_BYTES} bytes`)
  const byId = new Map<string, ExposePorts>()
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = index + 1
      const hash = raw.indexOf('#')
      const content = (hash === -1 ? raw : raw.slice(0, hash)).trim()
      if (content === '') return
      const [id = '', ports, ...extra] = content.split(/\s+/)
      if (!isId(id))
        throw new TunnelError(
          'TUN_ERR_ID_INVALID',
          `${source}:${line}: ${JSON.stringify(id)} is not a node id`,
        )
      if (ports === undefined)
        throw lineError(source, line, 'no ports after the id (write "*" for any port of the range)')
      if (extra.length > 0)
        throw lineError(
          source,
          line,
          `unexpected ${JSON.stringify(extra.join(' '))} (no spaces inside a port list)`,
        )
      let parsed: ExposePorts
      try {
        parsed = parsePortList(ports)
      } catch (err) {
        throw lineError(source, line, (err as Error).message)
      }
      const before = byId.get(id)
      byId.set(id, before === undefined ? parsed : unionPorts(before, parsed))
    })
  return [...byId].map(([id, ports]) => ({ id, ports }))
}

function unionPorts(a: ExposePorts, b: ExposePorts): ExposePorts {
  return a === '*' || b === '*' ? '*' : mergePortRanges([...a, ...b])
}

/** True when `ports` (given the relay's `range`) include `port`. */
export function portsInclude(ports: ExposePorts, range: PortRange, port: number): boolean {
  const list = ports === '*' ? [range] : ports
  return list.some((r) => port >= r.from && port <= r.to)
}

/** How many ports `ports` grant (for the relay's pick: it bounds the search). */
export function portCount(ports: ExposePorts, range: PortRange): number {
  return (ports === '*' ? [range] : ports).reduce((n, r) => n + r.to - r.from + 1, 0)
}

/** The `i`-th granted port, 0 <= i < portCount (so a pick can start anywhere and wrap around). */
export function nthPort(ports: ExposePorts, range: PortRange, i: number): number {
  let rest = i
  for (const r of ports === '*' ? [range] : ports) {
    const size = r.to - r.from + 1
    if (rest < size) return r.from + rest
    rest -= size
  }
  throw new RangeError(`port index ${i} out of range`)
}

/** The canonical text of a port set, as the file would write it. */
export function formatPorts(ports: ExposePorts): string {
  return ports === '*'
    ? '*'
    : ports.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',')
}
