/**
 * Node identities: an Ed25519 key pair (node:crypto) whose public key, in lowercase base32, is the
 * node's id. The same key, mapped to X25519 (convert.ts), is the node's static Noise key.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { TunnelError } from '../errors.ts'
import { base32Decode, base32Encode } from './base32.ts'
import { ed25519PublicToX25519, ed25519SeedToX25519 } from './convert.ts'

/** Length of an id in characters: 32 bytes of base32 without padding. */
export const ID_LENGTH = 52
const ID_PATTERN = /^[a-z2-7]{52}$/

export interface Identity {
  /** The public key as 52 lowercase base32 characters: a DNS-label-safe name for this node. */
  readonly id: string
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array
  /** Ed25519 private key (never exported except to a key file). */
  readonly privateKey: KeyObject
  /** The X25519 form of this key pair, used as the Noise static key. */
  readonly dh: { readonly publicKey: Uint8Array; readonly privateKey: KeyObject }
}

const b64u = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')

/** Imports a raw X25519 public key (JWK import: ~15x faster than DER in OpenSSL 3). */
export function x25519PublicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TunnelError('TUN_ERR_KEY_INVALID', 'an X25519 public key is 32 bytes')
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(raw) }, format: 'jwk' })
}

/** Imports a raw X25519 private scalar. */
export function x25519PrivateKeyObject(scalar: Uint8Array, publicKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64u(scalar), x: b64u(publicKey) },
    format: 'jwk',
  })
}

/** Raw 32 bytes of an OKP (Ed25519/X25519) key's public part. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' })
  if (typeof jwk.x !== 'string') throw new TunnelError('TUN_ERR_KEY_INVALID', 'not an OKP key')
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'))
}

function identityFrom(privateKey: KeyObject): Identity {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TunnelError(
      'TUN_ERR_KEY_INVALID',
      `expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'a symmetric key'}`,
    )
  }
  const jwk = privateKey.export({ format: 'jwk' })
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string')
    throw new TunnelError('TUN_ERR_KEY_INVALID', 'not an Ed25519 key')
  const seed = Buffer.from(jwk.d, 'base64url')
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'))
  const scalar = ed25519SeedToX25519(seed)
  seed.fill(0)
  const dhPublic = ed25519PublicToX25519(publicKey)
  const dhPrivate = x25519PrivateKeyObject(scalar, dhPublic)
  scalar.fill(0)
  return {
    id: base32Encode(publicKey),
    publicKey,
    privateKey,
    dh: { publicKey: dhPublic, privateKey: dhPrivate },
  }
}

export function generateIdentity(): Identity {
  return identityFrom(generateKeyPairSync('ed25519').privateKey)
}

/** Rebuilds an identity from its 32-byte Ed25519 seed (RFC 8032 private key). */
/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Rebuilds an identity from its 32-byte Ed25519 seed (RFC 8032 private key). */
export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new TunnelError('TUN_ERR_KEY_INVALID', 'an Ed25519 seed is 32 bytes')
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed])
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  der.fill(0)
  return identityFrom(key)
}

export function identityFromPrivateKey(key: KeyObject): Identity {
  return identityFrom(key)
}

/** The 32-byte Ed25519 seed of an identity (for key files and tokens only). */
export function identitySeed(identity: Identity): Uint8Array {
  const jwk = identity.privateKey.export({ format: 'jwk' })
  return new Uint8Array(Buffer.from(String(jwk.d), 'base64url'))
}

export function idFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32)
    throw new TunnelError('TUN_ERR_KEY_INVALID', 'an Ed25519 public key is 32 bytes')
  return base32Encode(publicKey)
}

export function isId(text: unknown): text is string {
  return typeof text === 'string' && ID_PATTERN.test(text) && /[aq]$/.test(text)
}

/** Decodes an id to its Ed25519 public key, or throws TUN_ERR_ID_INVALID saying what is wrong. */
export function publicKeyFromId(id: string): Uint8Array {
  if (typeof id !== 'string' || id.length !== ID_LENGTH) {
    throw new TunnelError(
      'TUN_ERR_ID_INVALID',
      `an id is ${ID_LENGTH} characters, got ${typeof id === 'string' ? id.length : typeof id}`,
    )
  }
  if (!ID_PATTERN.test(id)) {
    const at = [...id].findIndex((c) => !/[a-z2-7]/.test(c))
    throw new TunnelError(
      'TUN_ERR_ID_INVALID',
      `an id is lowercase base32 (a-z, 2-7); bad character ${JSON.stringify(id[at])} at position ${at}`,
    )
  }
  try {
    return base32Decode(id)
  } catch (err) {
    throw new TunnelError('TUN_ERR_ID_INVALID', 'an id must be the canonical base32 form of a 32-byte key', {
      cause: err,
    })
  }
}

const dhKeys = new Map<string, Uint8Array>()
/** Ids whose X25519 key is remembered (a dialer computes it on every IK handshake). */
const DH_KEY_CACHE = 1024

/** The X25519 (Noise static) public key of the node named by `id`. */
export function dhPublicKeyFromId(id: string): Uint8Array {
  const cached = dhKeys.get(id)
  if (cached !== undefined) return new Uint8Array(cached)
  try {
    const key = ed25519PublicToX25519(publicKeyFromId(id))
    if (dhKeys.size >= DH_KEY_CACHE) dhKeys.delete(dhKeys.keys().next().value as string)
    dhKeys.set(id, key)
    return new Uint8Array(key)
  } catch (err) {
    if (err instanceof TunnelError && err.code === 'TUN_ERR_ID_INVALID') throw err
    throw new TunnelError('TUN_ERR_ID_INVALID', 'the id does not name a valid Ed25519 key', { cause: err })
  }
}

export function signMessage(identity: Identity, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, identity.privateKey))
}

const verifyKeys = new Map<string, KeyObject>()
const VERIFY_KEY_CACHE = 1024

/** Verifies an Ed25519 signature by the node `id`. Never throws for a bad signature; false instead. */
export function verifySignature(id: string, message: Uint8Array, signature: Uint8Array): boolean {
  let key = verifyKeys.get(id)
  if (key === undefined) {
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: b64u(publicKeyFromId(id)) },
      format: 'jwk',
    })
    if (verifyKeys.size >= VERIFY_KEY_CACHE) verifyKeys.delete(verifyKeys.keys().next().value as string)
    verifyKeys.set(id, key)
  }
  try {
    return signature.length === 64 && verify(null, message, key, signature)
  } catch {
    return false
  }
}
