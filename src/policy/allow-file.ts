/**
 * The allowed-clients file format (pure): which node ids may connect to a server peer.
 *
 * ```
 * # one id per line; "#" starts a comment, blank lines are fine
 * 3sl6zfbvkxq6ybsd4jm3nxwwt6kwbmmhqewm4ewyf6gsgk6zqbaa   laptop
 * u3a52hzifbxo3wc3pkkarnmhw46zkxpwiytwshfhqhkdhqpqbqxa   # no name
 * ```
 *
 * An optional name follows the id after whitespace; it is for logs only and never authorises
 * anything. Duplicates are allowed (the first name given wins). Every error names the file and the
 * 1-based line, because the file is edited by hand and reloaded while the server runs.
 */
import { TunnelError } from '../errors.ts'
import { isId, publicKeyFromId } from '../identity/keys.ts'

/** The largest allow file read, in bytes (about 15,000 ids with names). A bigger file is refused. */
export const MAX_ALLOW_FILE_BYTES = 1 << 20
/** The longest client name, in characters. */
export const MAX_CLIENT_NAME_LENGTH = 64

/** One line of an allow file that names a client. */
export interface AllowEntry {
  readonly id: string
  /** The name after the id, if any (trimmed; inner whitespace runs become one space). */
  readonly name: string | undefined
  /** 1-based line number in the file, for messages. */
  readonly line: number
}

/** Control characters (C0, DEL, C1): refused in names so a name cannot forge log lines. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** What is wrong with a string that is not an id, in publicKeyFromId's words. */
function idProblem(id: string): string {
  try {
    publicKeyFromId(id)
  } catch (err) {
    return (err as Error).message
  }
  return 'not the canonical form of a node id'
}

/**
 * Parses the text of an allow file. `source` names it in messages (usually its path).
 *
 * @throws TunnelError `TUN_ERR_ID_INVALID` (`source:line: ...` and what is wrong with the id) or
 *   `TUN_ERR_INVALID_ARGUMENT` (a bad name, or a file over {@link MAX_ALLOW_FILE_BYTES}).
 */
export function parseAllowFile(text: string, source: string): AllowEntry[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_ALLOW_FILE_BYTES) {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${source}: larger than ${MAX_ALLOW_FILE_BYTES} bytes`)
  }
  const entries: AllowEntry[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = index + 1
    const hash = raw.indexOf('#')
    const content = (hash === -1 ? raw : raw.slice(0, hash)).trim()
    if (content === '') return
    const space = content.search(/\s/)
    const id = space === -1 ? content : content.slice(0, space)
    const name = space === -1 ? undefined : content.slice(space).trim().replace(/\s+/g, ' ')
    if (!isId(id)) throw new TunnelError('TUN_ERR_ID_INVALID', `${source}:${line}: ${idProblem(id)}`)
    if (name !== undefined && (name.length > MAX_CLIENT_NAME_LENGTH || CONTROL.test(name))) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        `${source}:${line}: a client name is at most ${MAX_CLIENT_NAME_LENGTH} printable characters`,
      )
    }
    entries.push({ id, name, line })
  })
  return entries
}

/**
 * Checks ids given on the command line (`--allow ID`), the same way as the file's.
 *
 * @throws TunnelError `TUN_ERR_ID_INVALID` quoting the bad id and saying what is wrong.
 */
export function checkClientIds(ids: Iterable<string>, source = 'allowed client id'): string[] {
  return [...ids].map((id) => {
    if (isId(id)) return id
    throw new TunnelError('TUN_ERR_ID_INVALID', `${source} ${JSON.stringify(String(id))}: ${idProblem(id)}`)
  })
}
