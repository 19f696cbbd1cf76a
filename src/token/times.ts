/**
 * Token lifetimes (pure): clock readings in, whole seconds out. Tokens store Unix seconds (u64 on the
 * wire); callers pass `now` in milliseconds, as `Date.now()` gives it, and expiries as `Date`s or
 * whole days, so a seconds/milliseconds mix-up cannot pass silently.
 */
import { TunnelError } from '../errors.ts'
import { MAX_TIME_SECONDS } from './bytes.ts'

/** Seconds in a day: `days` lifetimes are exact multiples of it (no calendar, no DST). */
export const DAY_SECONDS = 86_400
/** A server token's lifetime when none is given (derptun's default). */
export const DEFAULT_SERVER_TOKEN_DAYS = 180
/** A client token's lifetime when none is given, clamped to the server token's expiry. */
export const DEFAULT_CLIENT_TOKEN_DAYS = 90
/**
 * How far ahead of the server's clock a grant's `notBefore` may be and still be accepted: a client
 * token minted on a machine whose clock runs a little fast works at once. Expiry gets no slack.
 */
export const NOT_BEFORE_SKEW_SECONDS = 300

/** Whether a token may be used at a given time. */
export type TokenValidity = 'valid' | 'expired' | 'not-yet-valid'

const argument = (why: string): TunnelError => new TunnelError('TUN_ERR_INVALID_ARGUMENT', why)

/** `now` (ms since the epoch) as whole seconds, checked. */
export function nowSeconds(now: number): number {
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0 || now / 1000 > MAX_TIME_SECONDS)
    throw argument(`now is milliseconds since 1970 (Date.now()), got ${String(now)}`)
  return Math.floor(now / 1000)
}

/** A `Date` as whole seconds (rounded down), checked to lie in 1970..9999. */
export function dateSeconds(date: Date, field: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN
  if (!Number.isFinite(ms) || ms < 0 || ms / 1000 > MAX_TIME_SECONDS)
    throw argument(`${field} must be a valid date between 1970 and 9999`)
  return Math.floor(ms / 1000)
}

/** Unix seconds as ISO 8601 UTC, e.g. `2025-01-01T00:00:00Z` (no milliseconds: tokens have none). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

export interface LifetimeOptions {
  /** When the token stops being valid. Mutually exclusive with `days`. */
  readonly expiresAt?: Date | undefined
  /** Lifetime in whole days from the issue time. Mutually exclusive with `expiresAt`. */
  readonly days?: number | undefined
}

/**
 * The expiry, in seconds, for a token issued at `issuedAt`: from `expiresAt`, from `days`, or
 * `defaultDays`. `explicit` says the caller asked for it (an explicit expiry past a limit is an
 * error; a default one is clamped).
 */
export function resolveExpiry(
  issuedAt: number,
  options: LifetimeOptions,
  defaultDays: number,
): { expiresAt: number; explicit: boolean } {
  const { expiresAt, days } = options
  if (expiresAt !== undefined && days !== undefined) throw argument('give expiresAt or days, not both')
  let seconds: number
  if (expiresAt !== undefined) seconds = dateSeconds(expiresAt, 'expiresAt')
  else {
    const d = days ?? defaultDays
    if (!Number.isSafeInteger(d) || d < 1) throw argument(`days must be a positive whole number, got ${d}`)
    seconds = issuedAt + d * DAY_SECONDS
  }
  if (seconds > MAX_TIME_SECONDS) throw argument('the expiry is beyond year 9999')
  if (seconds <= issuedAt)
    throw argument(`the expiry ${isoTime(seconds)} is not after the issue time ${isoTime(issuedAt)}`)
  return { expiresAt: seconds, explicit: expiresAt !== undefined || days !== undefined }
}

/**
 * Whether `times` are valid at `now` (seconds): expired from `expiresAt` on (the expiry second
 * itself is already expired), not yet valid before `notBefore` minus `skew`.
 */
export function validityAt(
  times: { readonly notBefore?: number; readonly expiresAt: number },
  now: number,
  skew = 0,
): TokenValidity {
  if (now >= times.expiresAt) return 'expired'
  if (times.notBefore !== undefined && now + skew < times.notBefore) return 'not-yet-valid'
  return 'valid'
}
