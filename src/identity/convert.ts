/**
 * Ed25519 -> X25519, so one identity key serves both signing and the Noise handshake.
 *
 * Why: a node's id is its Ed25519 public key, and an initiator that knows only the id must be able
 * to run Noise IK, which needs the responder's X25519 static key in advance. The standard
 * birational map (RFC 7748 section 4.1; libsodium's crypto_sign_ed25519_pk_to_curve25519) gives
 * it: u = (1 + y) / (1 - y) mod p. The private side is what RFC 8032 already computes: the first
 * 32 bytes of SHA-512(seed) (node:crypto's X25519 clamps them). This file is field arithmetic on
 * public values, not a cipher; every DH and signature still runs in node:crypto. A unit test checks
 * that both halves agree with node:crypto for random keys, and with libsodium.
 */
import { createHash } from 'node:crypto'
import { TunnelError } from '../errors.ts'

const P = 2n ** 255n - 19n

/** Modular inverse by the extended Euclidean algorithm (public values only; ~20x faster than a^(p-2)). */
function modInverse(a: bigint): bigint {
  let [r0, r1] = [P, ((a % P) + P) % P]
  let [t0, t1] = [0n, 1n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[t0, t1] = [t1, t0 - q * t1]
  }
  return ((t0 % P) + P) % P
}

function bytesToBigLE(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0)
  return n
}

function bigToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let v = n
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The X25519 public key (Montgomery u) of an Ed25519 public key. Throws on a non-canonical y or y = 1. */
export function ed25519PublicToX25519(edPublic: Uint8Array): Uint8Array {
  if (edPublic.length !== 32)
    throw new TunnelError('TUN_ERR_KEY_INVALID', 'an Ed25519 public key is 32 bytes')
  const copy = Uint8Array.from(edPublic)
  copy[31] = (copy[31] ?? 0) & 0x7f // drop the sign bit of x
  const y = bytesToBigLE(copy)
  if (y >= P) throw new TunnelError('TUN_ERR_KEY_INVALID', 'Ed25519 public key is not canonical')
  const denominator = (1n - y + P) % P
  if (denominator === 0n)
    throw new TunnelError('TUN_ERR_KEY_INVALID', 'Ed25519 public key is a low-order point')
  const u = ((1n + y) * modInverse(denominator)) % P
  return bigToBytesLE(u, 32)
}

/** The X25519 private scalar (unclamped; X25519 clamps) of an Ed25519 seed, as RFC 8032 derives it. */
export function ed25519SeedToX25519(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new TunnelError('TUN_ERR_KEY_INVALID', 'an Ed25519 seed is 32 bytes')
  return new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32))
}
