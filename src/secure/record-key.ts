/**
 * What both ends of one record direction share: the record format's constants, the key with its
 * nonce counter and rekey accounting (see record.ts for the format).
 */
import { createCipheriv } from 'node:crypto'
import { TunnelError } from '../errors.ts'

export const RECORD_HEADER = 3
export const TAG_LENGTH = 16
/** Largest plaintext in one record: 64 KiB. */
export const MAX_RECORD_PLAINTEXT = 65536
/**
 * Set in the length field of a clear record: its payload travels as it is, authenticated but not
 * encrypted (the length itself never reaches 2^17, so the top bit of the u24 is free).
 */
export const CLEAR_FLAG = 0x800000
/** setAAD's options for a clear record (all of it is associated data; the cost is ~0.1 us, measured). */
export const NO_PLAINTEXT = { plaintextLength: 0 } as const
/** Rekey after this many records in one direction... */
export const REKEY_AFTER_RECORDS = 2 ** 20
/** ...or this many plaintext bytes (16 GiB), whichever comes first. */
export const REKEY_AFTER_BYTES = 2 ** 34
/** Noise reserves nonce 2^64-1 for REKEY; counters here never get near 2^53, checked anyway. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER

export interface RekeyLimits {
  records?: number
  bytes?: number
}

const ZEROS_32 = Buffer.alloc(32)
const REKEY_NONCE = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

/** Noise REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). */
export function rekey(key: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, REKEY_NONCE)
  const out = cipher.update(ZEROS_32)
  cipher.final()
  return out.subarray(0, 32)
}

/** Holds one direction's key, nonce and rekey accounting. */
export class Direction {
  protected key: Buffer
  protected readonly nonce = Buffer.alloc(12)
  protected counter = 0
  private recordsSinceRekey = 0
  private bytesSinceRekey = 0
  private readonly limits: Required<RekeyLimits>

  constructor(key: Uint8Array, limits: RekeyLimits = {}) {
    if (key.length !== 32) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a record key is 32 bytes')
    this.key = Buffer.from(key)
    this.limits = { records: limits.records ?? REKEY_AFTER_RECORDS, bytes: limits.bytes ?? REKEY_AFTER_BYTES }
  }

  /** Writes the nonce for record `n` (little-endian, after 4 zero bytes). */
  protected nonceFor(n: number): Buffer {
    if (n >= MAX_NONCE) throw new TunnelError('TUN_ERR_NONCE_EXHAUSTED', 'record counter exhausted')
    this.nonce.writeUInt32LE(n >>> 0, 4)
    this.nonce.writeUInt32LE(Math.floor(n / 0x100000000), 8)
    return this.nonce
  }

  protected account(plaintextBytes: number): void {
    this.recordsSinceRekey++
    this.bytesSinceRekey += plaintextBytes
    if (this.recordsSinceRekey >= this.limits.records || this.bytesSinceRekey >= this.limits.bytes) {
      const next = rekey(this.key)
      this.key.fill(0)
      this.key = next
      this.dropPrepared()
      this.recordsSinceRekey = 0
      this.bytesSinceRekey = 0
    }
  }

  /** Records sealed or opened so far in this direction. */
  get records(): number {
    return this.counter
  }

  wipe(): void {
    this.key.fill(0)
    this.dropPrepared()
  }

  /** Forgets a context made ahead of time (its key is gone). */
  protected dropPrepared(): void {}
}
