/**
 * The resolve-once rule (DESIGN.md, "Security model"): a target host name is resolved **once**, every
 * address it resolved to is checked against the policy, and the caller dials the checked address,
 * never the name again.
 *
 * Why: checking a name and then dialing the name resolves it twice. Between the two lookups DNS can
 * answer differently (a short TTL, a rebinding attack, a round-robin name), so the check would approve
 * `allowed.example.com -> 10.0.0.5` and the dial would reach `127.0.0.1`. Returning the address that
 * passed the check closes that time-of-check/time-of-use gap; nothing else in the dial path may take a
 * host name.
 *
 * ```
 * resolveTarget(host, port)
 *   host is an IP literal? ── yes ─> check it ───────────────────────────┐
 *        │ no                                                          │
 *   lookup(host) once, bounded by timeoutMs and signal                   │
 *        │ (not found / timeout -> TUN_ERR_TARGET_UNREACHABLE)           │
 *   first address in resolver order that the policy allows ─────────────┤
 *        │ none -> TUN_ERR_TARGET_DENIED                                 v
 *                                                     { address, port, family } -> dial this
 * ```
 */
import { promises as dns } from 'node:dns'
import { hostForUrl, normalizeHost } from '../address/host.ts'
import { TunnelError } from '../errors.ts'
import { formatIp, parseIp, type IpFamily, type IpValue } from './ip.ts'
import type { TargetPolicy } from './targets.ts'

export { formatTargetUrl, parseTargetUrl, MAX_TARGET_URL_LENGTH, type TargetUrl } from './url.ts'

/** How long one host-name lookup may take before the target counts as unreachable. */
export const RESOLVE_TIMEOUT_MS = 5000
/** How many denied addresses a TUN_ERR_TARGET_DENIED message lists before "and N more". */
const LISTED_ADDRESSES = 4

/** One address a lookup returned (the shape of `dns.promises.lookup(host, { all: true })`). */
export interface LookupAddress {
  readonly address: string
  readonly family: number
}

/**
 * Resolves a host name to its addresses. The signal aborts when the lookup timed out or the caller
 * gave up; a lookup may ignore it (the system resolver cannot be cancelled; its late answer is dropped).
 */
export type TargetLookup = (
  host: string,
  options: { signal: AbortSignal },
) => Promise<readonly LookupAddress[]>

export interface ResolveTargetOptions {
  /** The resolver. Default: `dns.promises.lookup(host, { all: true })` (getaddrinfo, /etc/hosts). */
  lookup?: TargetLookup
  /** Bound on the lookup, ms. Default {@link RESOLVE_TIMEOUT_MS}; must be a positive integer. */
  timeoutMs?: number
  /** Aborts the lookup: the promise rejects with `TUN_ERR_ABORTED`. */
  signal?: AbortSignal
}

/** The address to dial: the one that was checked. IPv4-mapped IPv6 comes back as plain IPv4. */
export interface ResolvedTarget {
  readonly address: string
  readonly port: number
  readonly family: IpFamily
}

const systemLookup: TargetLookup = (host) => dns.lookup(host, { all: true })

const invalid = (why: string): TunnelError => new TunnelError('TUN_ERR_INVALID_ARGUMENT', why)

function unreachable(host: string, err: unknown): TunnelError {
  const code = (err as { code?: unknown } | null)?.code
  const why =
    code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME'
      ? 'name not found'
      : code === 'EAI_AGAIN'
        ? 'temporary DNS failure'
        : `lookup failed${typeof code === 'string' ? ` (${code})` : ''}`
  return new TunnelError('TUN_ERR_TARGET_UNREACHABLE', `could not resolve target host ${host}: ${why}`, {
    cause: err,
  })
}

/** Runs `lookup` once, bounded by a timeout and the caller's signal. Global setTimeout, so fake timers work. */
function boundedLookup(
  host: string,
  lookup: TargetLookup,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<readonly LookupAddress[]> {
  const aborted = (reason: unknown): TunnelError =>
    new TunnelError('TUN_ERR_ABORTED', `resolving target host ${host} was aborted`, { cause: reason })
  if (signal?.aborted) return Promise.reject(aborted(signal.reason))
  const controller = new AbortController()
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => {
      finish()
      controller.abort(signal?.reason)
      reject(aborted(signal?.reason))
    }
    const timer = setTimeout(() => {
      finish()
      const err = new TunnelError(
        'TUN_ERR_TARGET_UNREACHABLE',
        `could not resolve target host ${host}: no answer within ${timeoutMs} ms`,
      )
      controller.abort(err)
      reject(err)
    }, timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    new Promise<readonly LookupAddress[]>((run) => run(lookup(host, { signal: controller.signal }))).then(
      (addresses) => {
        finish()
        resolve(addresses)
      },
      (err: unknown) => {
        finish()
        reject(unreachable(host, err))
      },
    )
  })
}

function denied(host: string, port: number, resolved: readonly IpValue[] | undefined): TunnelError {
  let via = ''
  if (resolved !== undefined) {
    const texts = [...new Set(resolved.map(formatIp))]
    const more = texts.length > LISTED_ADDRESSES ? ` and ${texts.length - LISTED_ADDRESSES} more` : ''
    via = ` (resolved to ${texts.slice(0, LISTED_ADDRESSES).join(', ')}${more})`
  }
  return new TunnelError(
    'TUN_ERR_TARGET_DENIED',
    `target ${hostForUrl(host)}:${port}${via} is not in this server's allow-list`,
  )
}

/**
 * Resolves `target` once and returns the first address the policy allows, to be dialed as is.
 *
 * - An IP literal (any spelling `normalizeHost` accepts: `::ffff:10.0.0.1`, `127.1`) is checked
 *   without DNS.
 * - A name is looked up once; the answers are checked in resolver order and the **first allowed**
 *   one is returned, even when an earlier answer was denied. Refusing a name because one of its
 *   addresses is outside the list would break every dual-stack name whose other family is not
 *   allowed, and costs nothing in safety: only the checked address is ever dialed.
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` (bad host, port or timeout), `TUN_ERR_TARGET_DENIED`
 *   (no address allowed; the message names the host and addresses, not the rules),
 *   `TUN_ERR_TARGET_UNREACHABLE` (name not found, no addresses, lookup timeout), `TUN_ERR_ABORTED`.
 */
export async function resolveTarget(
  target: { readonly host: string; readonly port: number },
  policy: TargetPolicy,
  options: ResolveTargetOptions = {},
): Promise<ResolvedTarget> {
  const { port } = target
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`invalid target port ${String(port)}: not an integer 1-65535`)
  }
  const timeoutMs = options.timeoutMs ?? RESOLVE_TIMEOUT_MS
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) {
    throw invalid(`invalid timeoutMs ${String(timeoutMs)}: a positive integer of milliseconds`)
  }
  let host: string
  try {
    host = normalizeHost(target.host)
  } catch (err) {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `invalid target host: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const literal = parseIp(host)
  const candidates: IpValue[] = []
  if (literal !== undefined) {
    candidates.push(literal)
  } else {
    const answers = await boundedLookup(host, options.lookup ?? systemLookup, timeoutMs, options.signal)
    for (const answer of Array.isArray(answers) ? answers : []) {
      const ip = typeof answer?.address === 'string' ? parseIp(answer.address) : undefined
      if (ip !== undefined) candidates.push(ip)
    }
    if (candidates.length === 0) {
      throw new TunnelError(
        'TUN_ERR_TARGET_UNREACHABLE',
        `could not resolve target host ${host}: no addresses`,
      )
    }
  }
  for (const ip of candidates) {
    const address = formatIp(ip)
    if (policy.allows(address, port)) return { address, port, family: ip.family }
  }
  throw denied(host, port, literal === undefined ? candidates : undefined)
}
