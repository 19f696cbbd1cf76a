/**
 * Noise's CipherState and SymmetricState objects (spec rev 34, sections 5.1 and 5.2), pure.
 *
 * CipherState is a key and a 64-bit nonce; after the handshake, Split() yields one per direction.
 * SymmetricState is the chaining key `ck` and the handshake hash `h` that every handshake token feeds:
 * `ck` accumulates the DH results (MixKey) and `h` the transcript (MixHash), so that each handshake
 * payload is encrypted with `h` as associated data and any change to any earlier byte breaks a tag.
 *
 * MixKeyAndHash (spec 5.2) exists only for PSK tokens; burrow's XX and IK have none, so it is left out.
 */
import { TunnelError } from '../errors.ts'
import { HASHLEN, KEYLEN, MAX_NONCE, decrypt, encrypt, hash, hkdf, rekey } from './crypto.ts'

const EMPTY = new Uint8Array(0)

/** A copy of the first KEYLEN bytes, then wipes the whole HKDF output (spec 5.2: truncate when HASHLEN is 64). */
function takeKey(output: Uint8Array): Uint8Array {
  const key = new Uint8Array(output.subarray(0, KEYLEN))
  output.fill(0)
  return key
}

/**
 * A CipherState (spec 5.1): key `k` (or none) and nonce `n`. With no key, Encrypt/DecryptWithAd
 * return their input unchanged (which is why the XX first message payload travels in clear). The
 * nonce only increases, by one per successful call; 2^64-1 is reserved (spec 5.1), so a call at that
 * nonce throws TUN_ERR_NONCE_EXHAUSTED instead of reusing a nonce. Nonces are bigints because the spec
 * counts to 2^64, beyond a double's exact range.
 */
export class CipherState {
  #k: Uint8Array | undefined
  #n = 0n

  /** `key` is copied; the caller may wipe its own copy. */
  constructor(key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key)
  }

  /** InitializeKey(key) (spec 5.1): sets k (copied) and resets n to 0. */
  initializeKey(key: Uint8Array | undefined): void {
    this.#k?.fill(0)
    if (key !== undefined && key.length !== KEYLEN) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `a cipher key is ${KEYLEN} bytes`)
    }
    this.#k = key === undefined ? undefined : new Uint8Array(key)
    this.#n = 0n
  }

  /** HasKey() (spec 5.1). */
  hasKey(): boolean {
    return this.#k !== undefined
  }

  /** The next nonce this state will use. */
  get nonce(): bigint {
    return this.#n
  }

  /** SetNonce(nonce) (spec 5.1): for out-of-order transports that carry the nonce explicitly. */
  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a nonce is a 64-bit unsigned integer')
    this.#n = nonce
  }

  #checkNonce(): void {
    if (this.#n >= MAX_NONCE) {
      throw new TunnelError(
        'TUN_ERR_NONCE_EXHAUSTED',
        'nonce 2^64-1 is reserved: rekey or start a new session',
      )
    }
  }

  /** EncryptWithAd(ad, plaintext) (spec 5.1). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return plaintext
    this.#checkNonce()
    const out = encrypt(this.#k, this.#n, ad, plaintext)
    this.#n++
    return out
  }

  /** DecryptWithAd(ad, ciphertext) (spec 5.1): on TUN_ERR_DECRYPT the nonce is not advanced. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return ciphertext
    this.#checkNonce()
    const out = decrypt(this.#k, this.#n, ad, ciphertext)
    this.#n++
    return out
  }

  /** Rekey() (spec 5.1, 11.3): k = REKEY(k); the nonce is unchanged. */
  rekey(): void {
    if (this.#k === undefined)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'cannot rekey a CipherState without a key')
    const next = rekey(this.#k)
    this.#k.fill(0)
    this.#k = next
  }

  /** Wipes the key; the state then has no key. Call when the session ends. */
  destroy(): void {
    this.#k?.fill(0)
    this.#k = undefined
  }
}

/** What Split() returns: c1 encrypts initiator -> responder, c2 responder -> initiator (spec 5.2). */
export interface SplitKeys {
  readonly c1: CipherState
  readonly c2: CipherState
  /** Raw copies of c1's and c2's keys, for a record layer with its own cipher fast path. The caller owns and wipes them. */
  readonly k1: Uint8Array
  readonly k2: Uint8Array
}

/** A SymmetricState (spec 5.2): a CipherState plus the chaining key `ck` and handshake hash `h`. */
export class SymmetricState {
  readonly #cipher = new CipherState()
  #ck: Uint8Array
  #h: Uint8Array

  /**
   * InitializeSymmetric(protocol_name) (spec 5.2): h = the name zero-padded to HASHLEN if it fits,
   * else HASH(name); ck = h; no key.
   */
  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName)
    if (name.length <= HASHLEN) {
      this.#h = new Uint8Array(HASHLEN)
      this.#h.set(name)
    } else {
      this.#h = hash(name)
    }
    this.#ck = new Uint8Array(this.#h)
  }

  /** MixKey(input_key_material) (spec 5.2): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k truncated). */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.#ck, ikm, 2)
    this.#ck.fill(0)
    this.#ck = ck
    const key = takeKey(tempK)
    this.#cipher.initializeKey(key)
    key.fill(0)
  }

  /** MixHash(data) (spec 5.2): h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.#h = hash(this.#h, data)
  }

  /** True once some MixKey has run: from then on payloads and static keys are encrypted. */
  hasKey(): boolean {
    return this.#cipher.hasKey()
  }

  /** GetHandshakeHash() (spec 5.2): a copy of h, a transcript digest fit for channel binding. */
  handshakeHash(): Uint8Array {
    return new Uint8Array(this.#h)
  }

  /** EncryptAndHash(plaintext) (spec 5.2): ciphertext = EncryptWithAd(h, plaintext); MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  /** DecryptAndHash(ciphertext) (spec 5.2): plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#h, ciphertext)
    this.mixHash(ciphertext)
    return plaintext
  }

  /** Split() (spec 5.2): temp_k1, temp_k2 = HKDF(ck, zerolen, 2), truncated; two fresh CipherStates. */
  split(): SplitKeys {
    const [t1, t2] = hkdf(this.#ck, EMPTY, 2)
    const k1 = takeKey(t1)
    const k2 = takeKey(t2)
    return { c1: new CipherState(k1), c2: new CipherState(k2), k1, k2 }
  }

  /** Wipes ck and the handshake key (h is a public transcript digest and is kept for handshakeHash()). */
  destroy(): void {
    this.#ck.fill(0)
    this.#cipher.destroy()
  }
}
