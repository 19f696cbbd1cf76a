/**
 * The revocation file format (pure): which client tokens a server peer refuses before they expire.
 *
 * ```
 * # one entry per line; "#" starts a comment, blank lines are fine
 * 3f1c0a9e5b7d42e8a6c4f0b1d2e3a4b5                       # a token id: that one client token
 * u3a52hzifbxo3wc3pkkarnmhw46zkxpwiytwshfhqhkdhqpqbqxa   # a client id: every token for that key
 * ```
 *
 * A token id (32 hex characters, any case) revokes one client token; a client id (52 base32
 * characters) revokes every grant issued to that client key. Since each client token carries its own
 * fresh key, the two differ only for grants re-issued to one key by hand. Errors name the file and
 * the 1-based line, because the file is edited by hand and reloaded while the server runs.
 */
import { TunnelError } from '../errors.ts'
import { isId } from '../identity/keys.ts'
import type { Grant } from './grant.ts'

/** The largest revocation file read, in bytes (about 30,000 entries). A bigger file is refused. */
export const MAX_REVOCATION_FILE_BYTES = 1 << 20

const TOKEN_ID = /^[0-9a-fA-F]{32}$/

/** The parsed file: look-ups are O(1), so it can be asked at every handshake. */
export interface RevocationList {
  /** Revoked token ids, lowercase hex. */
  readonly tokenIds: ReadonlySet<string>
  /** Revoked client ids. */
  readonly clientIds: ReadonlySet<string>
  /** True when the grant's token id or client id is listed (pass as `verifyGrant`'s `isRevoked`). */
  isRevoked(grant: Pick<Grant, 'tokenId' | 'clientId'>): boolean
}

/**
 * Parses the text of a revocation file. `source` names it in messages (usually its path).
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` as `source:line: ...` for a line that is neither a
 *   token id nor a client id, or a file over {@link MAX_REVOCATION_FILE_BYTES}.
 */
export function parseRevocationList(text: string, source: string): RevocationList {
  if (typeof text !== 'string' || Buffer.byteLength(text, 'utf8') > MAX_REVOCATION_FILE_BYTES) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `${source}: a revocation file is text of at most ${MAX_REVOCATION_FILE_BYTES} bytes`,
    )
  }
  const tokenIds = new Set<string>()
  const clientIds = new Set<string>()
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const hash = raw.indexOf('#')
      const entry = (hash === -1 ? raw : raw.slice(0, hash)).trim()
      if (entry === '') return
      const shown = entry.length > 60 ? `${entry.slice(0, 60)}...` : entry
      if (TOKEN_ID.test(entry)) tokenIds.add(entry.toLowerCase())
      else if (isId(entry)) clientIds.add(entry)
      else {
        throw new TunnelError(
          'TUN_ERR_INVALID_ARGUMENT',
          `${source}:${index + 1}: ${JSON.stringify(shown)} is neither a token id (32 hex characters) nor a client id (52 base32 characters)`,
        )
      }
    })
  return Object.freeze({
    tokenIds,
    clientIds,
    isRevoked: (grant: Pick<Grant, 'tokenId' | 'clientId'>): boolean =>
      tokenIds.has(grant.tokenId) || clientIds.has(grant.clientId),
  })
}
