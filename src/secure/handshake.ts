/**
 * The Noise handshake for burrow: `Noise_XX_25519_ChaChaPoly_BLAKE2b` and
 * `Noise_IK_25519_ChaChaPoly_BLAKE2b` (spec rev 34, section 5.3 HandshakeState, patterns from 7.5),
 * as a sans-IO state machine: bytes in, bytes out, no sockets, no timers. The channel layer frames
 * the messages, applies the timeout and decides what the payloads mean; this file only runs Noise.
 *
 * Each state is named after the tokens of the next message, so the name says what happens next:
 *
 * ```
 *  XX initiator:  write-e ──> read-e-ee-s-es ──> write-s-se ──> done ──split()──> split
 *  XX responder:  read-e  ──> write-e-ee-s-es ──> read-s-se ──> done ──split()──> split
 *  IK initiator:  write-e-es-s-ss ──> read-e-ee-se ──> done ──split()──> split
 *  IK responder:  read-e-es-s-ss  ──> write-e-ee-se ──> done ──split()──> split
 *  any state ── bad input, wrong call, failed DH or tag ──> failed   (terminal; secrets wiped)
 * ```
 *
 * Errors: every failure is a TunnelError whose message names the step. TUN_ERR_HANDSHAKE_FAILED for a
 * wrong call, a malformed or short message, a bad tag or a low-order key; TUN_ERR_RECORD_TOO_LARGE for
 * a message over 65535 bytes; TUN_ERR_REMOTE_KEY_MISMATCH when an expected remote key was given and the
 * peer proved another. All of them move to `failed`, except a local writeMessage() payload that is too
 * large: that is refused before any state changes, so the caller may retry with less.
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto'
import { TunnelError, type ErrorCode } from '../errors.ts'
import { x25519PublicKeyObject } from '../identity/keys.ts'
import { DHLEN, MAX_MESSAGE_LENGTH, TAGLEN, dh, generateEphemeral, type DhKeyPair } from './crypto.ts'
import { SymmetricState, type CipherState, type SplitKeys } from './symmetric.ts'

export type HandshakePattern = 'XX' | 'IK'

/** The states of an XX initiator, XX responder, IK initiator and IK responder, in order. */
type XXInitiatorStatus = 'write-e' | 'read-e-ee-s-es' | 'write-s-se'
type XXResponderStatus = 'read-e' | 'write-e-ee-s-es' | 'read-s-se'
type IKInitiatorStatus = 'write-e-es-s-ss' | 'read-e-ee-se'
type IKResponderStatus = 'read-e-es-s-ss' | 'write-e-ee-se'
/** The named states; see the diagram above. */
export type HandshakeStatus =
  XXInitiatorStatus | XXResponderStatus | IKInitiatorStatus | IKResponderStatus | 'done' | 'split' | 'failed'

type DhToken = 'ee' | 'es' | 'se' | 'ss'
type Token = 'e' | 's' | DhToken
/** Per DH token, whether the initiator's key and the responder's key are the static ones (spec 7.1). */
const DH_USES_STATIC: Record<DhToken, readonly [boolean, boolean]> = {
  ee: [false, false],
  es: [false, true],
  se: [true, false],
  ss: [true, true],
}
interface Step {
  readonly direction: 'write' | 'read'
  readonly tokens: readonly Token[]
  readonly next: HandshakeStatus
}

/** The only transition table: the message each state expects, and the state after it (spec 7.5 XX and IK). */
function stepOf(status: HandshakeStatus): Step | undefined {
  switch (status) {
    case 'write-e':
      return { direction: 'write', tokens: ['e'], next: 'read-e-ee-s-es' }
    case 'read-e-ee-s-es':
      return { direction: 'read', tokens: ['e', 'ee', 's', 'es'], next: 'write-s-se' }
    case 'write-s-se':
      return { direction: 'write', tokens: ['s', 'se'], next: 'done' }
    case 'read-e':
      return { direction: 'read', tokens: ['e'], next: 'write-e-ee-s-es' }
    case 'write-e-ee-s-es':
      return { direction: 'write', tokens: ['e', 'ee', 's', 'es'], next: 'read-s-se' }
    case 'read-s-se':
      return { direction: 'read', tokens: ['s', 'se'], next: 'done' }
    case 'write-e-es-s-ss':
      return { direction: 'write', tokens: ['e', 'es', 's', 'ss'], next: 'read-e-ee-se' }
    case 'read-e-ee-se':
      return { direction: 'read', tokens: ['e', 'ee', 'se'], next: 'done' }
    case 'read-e-es-s-ss':
      return { direction: 'read', tokens: ['e', 'es', 's', 'ss'], next: 'write-e-ee-se' }
    case 'write-e-ee-se':
      return { direction: 'write', tokens: ['e', 'ee', 'se'], next: 'done' }
    case 'done':
    case 'split':
    case 'failed':
      return undefined
    default: {
      const unreachable: never = status
      throw new TypeError(`unknown handshake status ${String(unreachable)}`)
    }
  }
}

export interface HandshakeOptions {
  readonly pattern: HandshakePattern
  readonly initiator: boolean
  /** This node's static X25519 key pair: `identity.dh` (the X25519 form of its Ed25519 key). */
  readonly staticKey: DhKeyPair
  /**
   * IK initiator: required, the responder's static key (`dhPublicKeyFromId(id)`), a pre-message.
   * XX, either side: optional, the key the peer must prove; another key fails the read that carries
   * it with TUN_ERR_REMOTE_KEY_MISMATCH (so an XX initiator never reveals its identity to a wrong
   * responder). IK responder: must be absent.
   */
  readonly remoteStatic?: Uint8Array
  /** Bound into h before any message, so both sides must agree on it (spec 6); the channel puts name+version here. */
  readonly prologue: Uint8Array
  /** A fixed ephemeral key pair. For test vectors only: reusing an ephemeral key breaks Noise's security. */
  readonly ephemeral?: DhKeyPair
}

export interface HandshakeResult {
  /** Encrypts this side's transport messages (c1 for the initiator, c2 for the responder; spec 5.2). */
  readonly send: CipherState
  readonly receive: CipherState
  /** Raw copies of the two keys for a record layer with its own cipher path; the caller wipes them. */
  readonly sendKey: Uint8Array
  readonly receiveKey: Uint8Array
  /** h at the end (spec 11.2): identical on both sides, unique per session; fit for channel binding. */
  readonly handshakeHash: Uint8Array
  /** The peer's static X25519 key, proven by the handshake. */
  readonly remoteStatic: Uint8Array
}

const EMPTY = new Uint8Array(0)
const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array
const isKeyPair = (kp: DhKeyPair | undefined): boolean =>
  isBytes(kp?.publicKey) && kp.publicKey.length === DHLEN && kp.privateKey?.asymmetricKeyType === 'x25519'

/** What is wrong with the options, if anything (a caller bug, reported as TUN_ERR_INVALID_ARGUMENT). */
function optionsProblem(o: HandshakeOptions): string | undefined {
  const rs = o.remoteStatic
  if (o.pattern !== 'XX' && o.pattern !== 'IK') return `unsupported handshake pattern ${String(o.pattern)}`
  if (!isBytes(o.prologue)) return 'prologue must be a Uint8Array'
  if (!isKeyPair(o.staticKey))
    return 'staticKey must be { publicKey: 32 bytes, privateKey: X25519 KeyObject }'
  if (o.ephemeral !== undefined && !isKeyPair(o.ephemeral)) return 'ephemeral must be an X25519 key pair'
  if (rs !== undefined && (!isBytes(rs) || rs.length !== DHLEN)) return 'remoteStatic must be 32 bytes'
  if (o.pattern === 'IK' && o.initiator && rs === undefined) return 'an IK initiator needs remoteStatic'
  if (o.pattern === 'IK' && !o.initiator && rs !== undefined) return 'an IK responder learns remoteStatic'
  return undefined
}

/** Starts a handshake. Throws TUN_ERR_INVALID_ARGUMENT for bad options (a caller bug, not a peer's). */
export function createHandshake(options: HandshakeOptions): Handshake {
  return new Handshake(options)
}

export class Handshake {
  readonly pattern: HandshakePattern
  readonly initiator: boolean
  #status: HandshakeStatus
  readonly #sym: SymmetricState
  readonly #s: DhKeyPair
  #e: DhKeyPair | undefined
  readonly #fixedE: DhKeyPair | undefined
  #re: KeyObject | undefined
  #rs: Uint8Array | undefined
  #rsKey: KeyObject | undefined
  readonly #expectedRs: Uint8Array | undefined
  #keys: SplitKeys | undefined
  #stage = ''
  #hash: Uint8Array | undefined

  constructor(options: HandshakeOptions) {
    const problem = optionsProblem(options)
    if (problem !== undefined) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', problem)
    const { pattern, initiator, staticKey, remoteStatic, prologue, ephemeral } = options
    this.pattern = pattern
    this.initiator = initiator
    this.#s = staticKey
    this.#fixedE = ephemeral
    this.#sym = new SymmetricState(`Noise_${pattern}_25519_ChaChaPoly_BLAKE2b`) // spec 8: the protocol name
    this.#sym.mixHash(prologue)
    if (pattern === 'IK') {
      // Pre-message "<- s" (spec 7.5): both sides hash the responder's static key first.
      if (remoteStatic !== undefined) {
        this.#rs = new Uint8Array(remoteStatic)
        this.#rsKey = x25519PublicKeyObject(this.#rs)
      }
      this.#sym.mixHash(this.#rs ?? staticKey.publicKey)
      this.#status = initiator ? 'write-e-es-s-ss' : 'read-e-es-s-ss'
    } else {
      this.#expectedRs = remoteStatic === undefined ? undefined : new Uint8Array(remoteStatic)
      this.#status = initiator ? 'write-e' : 'read-e'
    }
  }

  /** The current named state; `done` once the last message is written or read. */
  get status(): HandshakeStatus {
    return this.#status
  }

  /** The peer's static key once known (IK initiator: from the start), else undefined. A copy. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs === undefined ? undefined : new Uint8Array(this.#rs)
  }

  /** The largest payload the next writeMessage() accepts (0 when it is not this side's turn). */
  get maxPayloadLength(): number {
    const step = stepOf(this.#status)
    return step?.direction === 'write' ? MAX_MESSAGE_LENGTH - this.#overhead(step.tokens) : 0
  }

  /** WriteMessage(payload) (spec 5.3): the next handshake message, carrying `payload`. */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    const step = this.#expect('write', 'writeMessage()', payload)
    const length = this.#overhead(step.tokens) + payload.length
    if (length > MAX_MESSAGE_LENGTH) {
      throw new TunnelError(
        'TUN_ERR_RECORD_TOO_LARGE',
        `payload of ${payload.length} > ${this.maxPayloadLength} bytes`,
      )
    }
    const out = new Uint8Array(length)
    let at = 0
    const put = (bytes: Uint8Array): void => {
      out.set(bytes, at)
      at += bytes.length
    }
    this.#guard(step, () => {
      for (const token of step.tokens) {
        this.#stage = `token ${token}`
        if (token === 'e') {
          this.#e = this.#fixedE ?? generateEphemeral()
          put(this.#e.publicKey)
          this.#sym.mixHash(this.#e.publicKey)
        } else if (token === 's') put(this.#sym.encryptAndHash(this.#s.publicKey))
        else this.#mixDh(token)
      }
      this.#stage = 'payload'
      put(this.#sym.encryptAndHash(payload))
    })
    this.#advance(step)
    return out
  }

  /** ReadMessage(message) (spec 5.3): consumes the peer's next message and returns its payload. */
  readMessage(message: Uint8Array): Uint8Array {
    const step = this.#expect('read', 'readMessage()', message)
    const min = this.#overhead(step.tokens)
    if (message.length < min || message.length > MAX_MESSAGE_LENGTH) {
      const code = message.length < min ? 'TUN_ERR_HANDSHAKE_FAILED' : 'TUN_ERR_RECORD_TOO_LARGE'
      throw this.#fail(
        code,
        `${this.#label(step)}: ${message.length} bytes, not ${min} to ${MAX_MESSAGE_LENGTH}`,
      )
    }
    let at = 0
    const take = (n: number): Uint8Array => message.subarray(at, (at += n))
    const payload = this.#guard(step, () => {
      for (const token of step.tokens) {
        this.#stage = `token ${token}`
        if (token === 'e') {
          const re = take(DHLEN)
          this.#sym.mixHash(re)
          this.#re = x25519PublicKeyObject(re) // imported once, used by up to two DH tokens
        } else if (token === 's') {
          this.#stage = 'the remote static key (wrong key or corrupted message)'
          const sealed = take(this.#sym.hasKey() ? DHLEN + TAGLEN : DHLEN)
          this.#rs = new Uint8Array(this.#sym.decryptAndHash(sealed))
          this.#rsKey = x25519PublicKeyObject(this.#rs)
        } else this.#mixDh(token)
      }
      this.#stage = 'the payload (bad tag)'
      const rest = take(message.length - at)
      const out = this.#sym.decryptAndHash(rest)
      return out === rest ? new Uint8Array(rest) : out // a cleartext payload must not alias the input
    })
    const expected = this.#expectedRs
    if (expected !== undefined && this.#rs !== undefined && !timingSafeEqual(expected, this.#rs)) {
      throw this.#fail(
        'TUN_ERR_REMOTE_KEY_MISMATCH',
        `${this.#label(step)}: the peer proved another static key`,
      )
    }
    this.#advance(step)
    return payload
  }

  /** The session keys, once (`done` -> `split`). The handshake's own secrets are already wiped. */
  split(): HandshakeResult {
    const keys = this.#keys
    const hash = this.#hash
    const rs = this.#rs
    if (this.#status !== 'done' || keys === undefined || hash === undefined || rs === undefined) {
      throw this.#fail('TUN_ERR_HANDSHAKE_FAILED', `split() called in state ${this.#status}, not done`)
    }
    this.#status = 'split'
    this.#keys = undefined
    const [send, receive] = this.initiator ? [keys.c1, keys.c2] : [keys.c2, keys.c1]
    const [sendKey, receiveKey] = this.initiator ? [keys.k1, keys.k2] : [keys.k2, keys.k1]
    return { send, receive, sendKey, receiveKey, handshakeHash: hash, remoteStatic: new Uint8Array(rs) }
  }

  /** Bytes a message of `tokens` adds around its payload, given whether a key exists yet. */
  #overhead(tokens: readonly Token[]): number {
    let keyed = this.#sym.hasKey()
    let n = 0
    for (const token of tokens) {
      if (token === 'e') n += DHLEN
      else if (token === 's') n += DHLEN + (keyed ? TAGLEN : 0)
      else keyed = true
    }
    return n + (keyed ? TAGLEN : 0)
  }

  /** The DH tokens (spec 5.3): es is DH(e, rs) for the initiator and DH(s, re) for the responder, etc. */
  #mixDh(token: DhToken): void {
    const [i, r] = DH_USES_STATIC[token]
    const [localStatic, remoteStatic] = this.initiator ? [i, r] : [r, i]
    const local = localStatic ? this.#s : this.#e
    const remote = remoteStatic ? this.#rsKey : this.#re
    if (local === undefined || remote === undefined) throw new Error(`${token}: a key is missing`)
    const shared = dh(local.privateKey, remote)
    this.#sym.mixKey(shared)
    shared.fill(0)
  }

  #expect(direction: 'write' | 'read', call: string, input: unknown): Step {
    const step = stepOf(this.#status)
    if (step?.direction !== direction) {
      throw this.#fail('TUN_ERR_HANDSHAKE_FAILED', `${call} called in state ${this.#status}`)
    }
    if (!isBytes(input)) throw this.#fail('TUN_ERR_HANDSHAKE_FAILED', `${call} needs a Uint8Array`)
    return step
  }

  /** Runs one message's tokens; any error becomes TUN_ERR_HANDSHAKE_FAILED naming the step and stage. */
  #guard<T>(step: Step, run: () => T): T {
    try {
      return run()
    } catch (err) {
      throw this.#fail('TUN_ERR_HANDSHAKE_FAILED', `${this.#label(step)}: ${this.#stage} failed`, err)
    }
  }

  #advance(step: Step): void {
    this.#status = step.next
    if (step.next !== 'done') return
    this.#keys = this.#sym.split()
    this.#hash = this.#sym.handshakeHash()
    this.#wipe()
  }

  #label(step: Step): string {
    return `${this.pattern} ${this.initiator ? 'initiator' : 'responder'} ${step.direction} (${step.tokens.join(', ')})`
  }

  #fail(code: ErrorCode, message: string, cause?: unknown): TunnelError {
    this.#status = 'failed'
    this.#wipe()
    this.#keys?.c1.destroy()
    this.#keys?.c2.destroy()
    this.#keys?.k1.fill(0)
    this.#keys?.k2.fill(0)
    this.#keys = undefined
    return new TunnelError(code, message, cause === undefined ? {} : { cause })
  }

  /** Wipes ck and the handshake key; drops the ephemeral KeyObject (OpenSSL memory cannot be zeroed from JS). */
  #wipe(): void {
    this.#sym.destroy()
    this.#e = undefined
  }
}
