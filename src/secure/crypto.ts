/**
 * The Noise crypto functions for burrow's one suite, `25519_ChaChaPoly_BLAKE2b` (Noise spec rev 34,
 * section 4 "Crypto functions" and section 12 "DH functions, cipher functions, and hash functions").
 *
 * Why this file exists: every primitive here is a thin call into node:crypto (OpenSSL), per
 * DESIGN.md decision 1 — no hand-written primitive. What this file adds is only the Noise glue
 * around them: the nonce layout, HMAC/HKDF as Noise defines them, REKEY, the low-order DH check, and
 * errors with stable codes. It is pure (no I/O, no timers) and knows nothing about handshake state.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'
import { TunnelError } from '../errors.ts'
import { rawPublicKey, x25519PublicKeyObject } from '../identity/keys.ts'

/** DHLEN for Curve25519: public keys and DH outputs are 32 bytes (spec 12.1). */
export const DHLEN = 32
/** HASHLEN for BLAKE2b: 64 bytes (spec 12.8). */
export const HASHLEN = 64
/** BLOCKLEN for BLAKE2b: 128 bytes, the HMAC block size (spec 4.3, 12.8). */
export const BLOCKLEN = 128
/** Cipher keys are 32 bytes (spec 4.2); with HASHLEN 64, HKDF outputs are truncated to it (spec 5.2). */
export const KEYLEN = 32
/** ChaChaPoly's authentication tag: 16 bytes (spec 4.2, 12.3). */
export const TAGLEN = 16
/** Every Noise message, handshake or transport, is at most 65535 bytes (spec 3). */
export const MAX_MESSAGE_LENGTH = 65535
/** Nonce 2^64-1 is reserved: REKEY uses it, messages never may (spec 5.1, 4.2). */
export const MAX_NONCE = 2n ** 64n - 1n

const HASH = 'blake2b512'
const CIPHER = 'chacha20-poly1305'
const EMPTY = new Uint8Array(0)
const ZEROS_DH = new Uint8Array(DHLEN)
const ZEROS_KEY = new Uint8Array(KEYLEN)
/** PKCS#8 DER prefix of an X25519 private key; the 32-byte scalar follows (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/** An X25519 key pair: the raw public key (what goes on the wire) and the private key in OpenSSL. */
export interface DhKeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: KeyObject
}

/** A plain Uint8Array over a Buffer's bytes (no copy), so every output of this layer has one type. */
function bytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** `parts` joined into one fresh Uint8Array (not Buffer's shared pool, so wiping it wipes only it). */
function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** HASH(data...) = BLAKE2b-512 of the concatenation (spec 4.3). */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash(HASH)
  for (const part of parts) h.update(part)
  return bytes(h.digest())
}

/**
 * HMAC-HASH(key, data...) per RFC 2104 with BLAKE2b's 128-byte block (spec 4.3). OpenSSL's HMAC
 * takes its block size from the digest, which is 128 for BLAKE2b-512; a unit test checks this against
 * RFC 2104 built by hand from `hash`, and the Noise vectors check it end to end.
 */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(HASH, key)
  for (const part of parts) h.update(part)
  return bytes(h.digest())
}

/**
 * Noise's HKDF(chaining_key, input_key_material, num_outputs) (spec 4.3): HASHLEN-byte outputs
 * `output_i = HMAC(temp_key, output_{i-1} || byte(i))` with `temp_key = HMAC(ck, ikm)`. Not RFC 5869
 * with an info string: Noise's variant has no info and is defined for 2 or 3 outputs only.
 */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2): [Uint8Array, Uint8Array]
export function hkdf(
  chainingKey: Uint8Array,
  ikm: Uint8Array,
  outputs: 3,
): [Uint8Array, Uint8Array, Uint8Array]
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hmac(chainingKey, ikm)
  const out1 = hmac(tempKey, Uint8Array.of(0x01))
  const out2 = hmac(tempKey, out1, Uint8Array.of(0x02))
  const result = outputs === 2 ? [out1, out2] : [out1, out2, hmac(tempKey, out2, Uint8Array.of(0x03))]
  tempKey.fill(0)
  return result
}

/**
 * DH(key_pair, public_key) for X25519 (spec 4.1, 12.1), in OpenSSL. An all-zero output means the
 * peer sent a low-order point, which would make the "shared" secret public: it is rejected with
 * TUN_ERR_KEY_INVALID (OpenSSL 3 refuses it too; the constant-time check stays as the contract).
 */
export function dh(privateKey: KeyObject, publicKey: Uint8Array | KeyObject): Uint8Array {
  let out: Uint8Array
  try {
    const pub = publicKey instanceof Uint8Array ? x25519PublicKeyObject(publicKey) : publicKey
    out = bytes(diffieHellman({ privateKey, publicKey: pub }))
  } catch (err) {
    const why =
      'X25519 failed: a low-order public key (OpenSSL refuses the all-zero output) or not X25519 keys'
    throw new TunnelError('TUN_ERR_KEY_INVALID', why, { cause: err })
  }
  if (out.length !== DHLEN || timingSafeEqual(out, ZEROS_DH)) {
    out.fill(0)
    throw new TunnelError(
      'TUN_ERR_KEY_INVALID',
      'X25519 output is all zeros: the public key is a low-order point',
    )
  }
  return out
}

/** GENERATE_KEYPAIR() (spec 4.1): a fresh X25519 key pair from OpenSSL's CSPRNG. */
export function generateEphemeral(): DhKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return { publicKey: rawPublicKey(publicKey), privateKey }
}

/**
 * The X25519 key pair of a raw 32-byte private scalar. For test vectors and interop tests, which
 * fix keys as raw bytes; node identities get theirs from src/identity (X25519 form of Ed25519).
 */
export function x25519KeyPairFromSecret(secret: Uint8Array): DhKeyPair {
  if (secret.length !== DHLEN)
    throw new TunnelError('TUN_ERR_KEY_INVALID', 'an X25519 private key is 32 bytes')
  const der = Buffer.concat([X25519_PKCS8_PREFIX, secret])
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    return { publicKey: rawPublicKey(createPublicKey(privateKey)), privateKey }
  } finally {
    der.fill(0)
  }
}

/** The 12-byte ChaChaPoly nonce: 32 bits of zeros, then n as a 64-bit little-endian integer (spec 12.3). */
export function nonceBytes(n: bigint): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeBigUInt64LE(n, 4)
  return nonce
}

function checkKey(k: Uint8Array): void {
  if (k.length !== KEYLEN)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `a cipher key is ${KEYLEN} bytes`)
}

/** ENCRYPT(k, n, ad, plaintext) (spec 4.2, 12.3): ChaCha20-Poly1305, ciphertext || 16-byte tag. */
export function encrypt(k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkKey(k)
  const cipher = createCipheriv(CIPHER, k, nonceBytes(n), { authTagLength: TAGLEN })
  cipher.setAAD(ad, { plaintextLength: plaintext.length })
  const body = cipher.update(plaintext)
  const tail = cipher.final()
  return join(body, tail, cipher.getAuthTag())
}

/**
 * DECRYPT(k, n, ad, ciphertext) (spec 4.2, 12.3). A bad tag (or input shorter than a tag) throws
 * TUN_ERR_DECRYPT; OpenSSL compares the tag in constant time and releases no plaintext on failure.
 */
export function decrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkKey(k)
  if (ciphertext.length < TAGLEN) {
    throw new TunnelError(
      'TUN_ERR_DECRYPT',
      `ciphertext of ${ciphertext.length} bytes is shorter than the tag`,
    )
  }
  const split = ciphertext.length - TAGLEN
  try {
    const decipher = createDecipheriv(CIPHER, k, nonceBytes(n), { authTagLength: TAGLEN })
    decipher.setAAD(ad, { plaintextLength: split })
    decipher.setAuthTag(ciphertext.subarray(split))
    const body = decipher.update(ciphertext.subarray(0, split))
    const tail = decipher.final()
    return tail.length === 0 ? bytes(body) : join(body, tail)
  } catch (err) {
    throw new TunnelError('TUN_ERR_DECRYPT', 'authentication failed: bad tag', { cause: err })
  }
}

/** REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64-1, zerolen, zeros) (spec 4.2). */
export function rekey(k: Uint8Array): Uint8Array {
  const out = encrypt(k, MAX_NONCE, EMPTY, ZEROS_KEY)
  const key = out.slice(0, KEYLEN)
  out.fill(0)
  return key
}
