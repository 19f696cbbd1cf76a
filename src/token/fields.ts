/**
 * What the strings inside a token mean (pure): relay addresses, target URLs and client names.
 * Checked strictly when a token is made (`TUN_ERR_INVALID_ARGUMENT`, saying what to fix) and again
 * when one is read (`TUN_ERR_TOKEN_INVALID`), so a token never carries something its user would
 * choke on later. Reading is a little looser than making where the future needs room: a relay
 * address from a newer build may name a transport this one does not know, and that is its dialer's
 * business, so reading checks the grammar only.
 */
import { parseNodeAddresses } from '../address/node.ts'
import { parseAddress } from '../address/parse.ts'
import { TunnelError } from '../errors.ts'
import { formatTargetUrl, parseTargetUrl } from '../policy/url.ts'
import { invalid, utf8Bytes } from './bytes.ts'
import { MAX_NAME_BYTES, MAX_RELAY_BYTES, MAX_RELAYS, MAX_TARGET_BYTES, MAX_TARGETS } from './wire.ts'

/** Control characters (C0, DEL, C1): refused in names so a name cannot forge log or terminal lines. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

const argument = (why: string, cause?: unknown): TunnelError =>
  new TunnelError('TUN_ERR_INVALID_ARGUMENT', why, cause === undefined ? {} : { cause })

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/**
 * Checks relay addresses for a new token: each must parse, every alternative this build knows must
 * name its relay (`~noise:<relay id>`, as `burrow relay` prints it) and none may be a tunnel
 * address (that is a server address, not a relay's). Returned as given (trimmed), duplicates dropped.
 */
export function checkRelaysForToken(relays: readonly string[]): string[] {
  if (!Array.isArray(relays)) throw argument('relays must be an array of address strings')
  const out: string[] = []
  for (const raw of relays) {
    if (typeof raw !== 'string') throw argument('a relay address is a string')
    const text = raw.trim()
    if (utf8Bytes(text).length > MAX_RELAY_BYTES)
      throw argument(`a relay address is at most ${MAX_RELAY_BYTES} bytes: ${text.slice(0, 60)}...`)
    const ways = parseNodeAddresses(text, { skipUnsupported: true })
    for (const way of ways) {
      if (way.id === undefined)
        throw argument(`relay address ${JSON.stringify(text)} must name the relay: ...~noise:<relay id>`)
      if (way.tunnel !== undefined)
        throw argument(`${JSON.stringify(text)} is a server address (~tunnel:), not a relay's`)
    }
    if (!out.includes(text)) out.push(text)
  }
  if (out.length > MAX_RELAYS) throw argument(`at most ${MAX_RELAYS} relays, got ${out.length}`)
  return out
}

/**
 * Checks and canonicalises allowed targets for a new client token (`TCP://Example.com:22` ->
 * `tcp://example.com:22`, IPv4 forms dotted), dropping duplicates, so the server compares one
 * spelling. An empty list means "the server's default target only".
 */
export function canonicalTargets(targets: readonly string[]): string[] {
  if (!Array.isArray(targets)) throw argument('targets must be an array of tcp://host:port strings')
  const out: string[] = []
  for (const text of targets) {
    const canonical = formatTargetUrl(parseTargetUrl(text))
    if (!out.includes(canonical)) out.push(canonical)
  }
  if (out.length > MAX_TARGETS) throw argument(`at most ${MAX_TARGETS} targets, got ${out.length}`)
  for (const t of out)
    if (t.length > MAX_TARGET_BYTES) throw argument(`a target is at most ${MAX_TARGET_BYTES} bytes`)
  return out
}

/** What is wrong with a client token name, if anything. */
function nameProblem(name: string): string | undefined {
  const size = utf8Bytes(name).length
  if (size < 1 || size > MAX_NAME_BYTES) return `a name is 1-${MAX_NAME_BYTES} bytes of UTF-8, got ${size}`
  if (CONTROL.test(name)) return 'a name may not contain control characters'
  return undefined
}

/** Checks a client token name (for logs and `inspect`; it never authorises anything). */
export function checkName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  if (typeof name !== 'string') throw argument('a name is a string')
  const problem = nameProblem(name)
  if (problem !== undefined) throw argument(problem)
  return name
}

/**
 * Checks the strings of a decoded token or grant: relay addresses follow the address grammar,
 * targets parse as target URLs, the name has no control characters.
 *
 * @throws TunnelError `TUN_ERR_TOKEN_INVALID` naming the field.
 */
export function checkDecodedStrings(
  what: string,
  f: { relays: readonly string[]; targets?: readonly string[]; name?: string | undefined },
): void {
  f.relays.forEach((relay, i) => {
    try {
      parseAddress(relay)
    } catch (err) {
      throw invalid(`${what}: relay ${i + 1} is not an address: ${messageOf(err)}`, err)
    }
  })
  f.targets?.forEach((target, i) => {
    try {
      parseTargetUrl(target)
    } catch (err) {
      throw invalid(`${what}: target ${i + 1} is not a target URL: ${messageOf(err)}`, err)
    }
  })
  const problem = f.name === undefined ? undefined : nameProblem(f.name)
  if (problem !== undefined) throw invalid(`${what}: ${problem}`)
}
