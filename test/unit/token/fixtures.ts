/**
 * Shared inputs for the token tests: fixed seeds, a fixed clock, a deterministic random source, and
 * an assertion that a call fails with a burrow error of one of the given codes (and nothing else).
 */
import assert from 'node:assert/strict'
import { isTunnelError, type ErrorCode } from '../../../src/errors.ts'
import { identityFromSeed, type Identity } from '../../../src/identity/keys.ts'
import type { RandomSource } from '../../../src/token/index.ts'

/** 2026-01-01T00:00:00Z in ms. */
export const T0 = Date.UTC(2026, 0, 1)
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

/** An identity from a seed of 32 bytes all equal to `byte`. */
export const fixedIdentity = (byte: number): Identity => identityFromSeed(new Uint8Array(32).fill(byte))

export const SERVER = fixedIdentity(0x11)
export const RELAY = fixedIdentity(0x22)
export const RELAY_ADDRESS = `tcp:relay.example.com:7000~noise:${RELAY.id}`

/** A random source that hands out the bytes of `hex`, in order, then fails. */
export function scriptedRandom(hex: string): RandomSource {
  const bytes = Buffer.from(hex, 'hex')
  let at = 0
  return (n) => {
    if (at + n > bytes.length) throw new Error('scripted random ran out')
    const out = new Uint8Array(bytes.subarray(at, at + n))
    at += n
    return out
  }
}

/** A random source that counts up from `start` (distinct output per call, reproducible). */
export function countingRandom(start = 0): RandomSource {
  let next = start
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff)
}

/** Asserts `fn` throws a TunnelError with one of `codes`; returns the error. */
export function assertCode(fn: () => unknown, codes: readonly ErrorCode[], label = ''): Error {
  try {
    fn()
  } catch (err) {
    assert.ok(isTunnelError(err), `${label}: threw a non-burrow error: ${String(err)}`)
    assert.ok(
      codes.includes(err.code),
      `${label}: code ${err.code} (${err.message}), expected ${codes.join('|')}`,
    )
    return err
  }
  assert.fail(`${label}: was accepted, expected ${codes.join('|')}`)
}

/** `bytes` with bit `bit` (0-7) of byte `i` flipped. */
export function flipBit(bytes: Uint8Array, i: number, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[i] = (out[i] ?? 0) ^ (1 << bit)
  return out
}

/** `text` with bit `bit` (0-7) of code unit `i` flipped. */
export function flipTextBit(text: string, i: number, bit: number): string {
  return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << bit)) + text.slice(i + 1)
}
