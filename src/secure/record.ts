/**
 * The record layer: AEAD records carrying the plaintext byte stream of a secure channel after the
 * handshake. Pure: no sockets, no timers; channel.ts drives it.
 *
 *   record = length u24 BE | ciphertext | tag (16)
 *   length = ciphertext + tag bytes, 16 ..= MAX_RECORD_PLAINTEXT + 16, or with CLEAR_FLAG (0x800000)
 *            set: a clear record, payload as is, tag over header and payload (associated data)
 *
 * ChaCha20-Poly1305 with the Noise nonce (4 zero bytes, then the 64-bit little-endian record
 * counter of this direction) and empty associated data. Records are a framing of the encryption
 * only: the plaintext is one byte stream, and frames of the layer above may straddle records.
 * A record with empty plaintext means "end of data" (an authenticated close): a transport EOF
 * without one is a truncation (TUN_ERR_TRUNCATED).
 *
 * Rekey (Noise REKEY, section 4.2): each direction replaces its key after REKEY_AFTER_RECORDS
 * records or REKEY_AFTER_BYTES plaintext bytes, whichever comes first, counted since the last
 * rekey. Both ends count the same records, so they rekey at the same record without a message.
 * The nonce keeps counting across rekeys, so no (key, nonce) pair is ever used twice.
 *
 * Clear records carry bytes that are already ciphertext of an end-to-end channel (the streams a
 * relay splices): authenticating them costs a third of encrypting them again, and nothing is
 * copied. The multiplexer asks for them for such streams only (writeClear in channel.ts).
 *
 * Why this shape (DESIGN.md decision 2): each node:crypto AEAD call costs ~10 us fixed, so records
 * are large (64 KiB) and a sealer encrypts a list of pieces without concatenating them; an opener
 * decrypts pieces as they arrive and releases plaintext only after the tag verifies.
 */
export {
  CLEAR_FLAG,
  MAX_RECORD_PLAINTEXT,
  RECORD_HEADER,
  REKEY_AFTER_BYTES,
  REKEY_AFTER_RECORDS,
  TAG_LENGTH,
  rekey,
  type RekeyLimits,
} from './record-key.ts'
export { RecordSealer } from './record-seal.ts'
export { RecordOpener } from './record-open.ts'
