/**
 * Where tokens come from and go to: a file, stdin (`-`) or an environment variable (`env:NAME`),
 * never the command line. argv is visible to every user of the machine (`ps`, /proc/PID/cmdline)
 * and lands in shell history, and a token is a private key. Token files are written mode 0600 and,
 * like key files, refused when group or others can read them.
 */
import {
  closeSync,
  constants,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import path from 'node:path'
import { TunnelError, isTunnelError } from '../errors.ts'
import { checkPrivateFileMode } from '../identity/keyfile.ts'
import { looksLikeTokenText } from './text.ts'
import { decodeToken, type Token } from './token.ts'
import { MAX_TOKEN_TEXT_LENGTH } from './wire.ts'

/** The most bytes read from a token source: a token plus generous whitespace. */
export const MAX_TOKEN_SOURCE_BYTES = MAX_TOKEN_TEXT_LENGTH + 4096

/** How to name a token source, for messages and `--help`. */
export const TOKEN_SOURCE_HINT = 'a file path, - (stdin) or env:NAME'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface TokenSourceOptions {
  /** The environment `env:NAME` reads (process.env in the CLI). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** What `-` reads (default: process.stdin). */
  readonly stdin?: AsyncIterable<Uint8Array | string>
}

const argument = (why: string, cause?: unknown): TunnelError =>
  new TunnelError('TUN_ERR_INVALID_ARGUMENT', why, cause === undefined ? {} : { cause })

async function readStream(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk)
    size += buf.length
    if (size > MAX_TOKEN_SOURCE_BYTES)
      throw argument(`stdin holds more than ${MAX_TOKEN_SOURCE_BYTES} bytes: not a token`)
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads at most MAX_TOKEN_SOURCE_BYTES of a file (a FIFO or device has no size to check first). */
function readBounded(file: string): string {
  const buf = Buffer.alloc(MAX_TOKEN_SOURCE_BYTES + 1)
  let length = 0
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY)
  } catch (err) {
    throw argument(`cannot read ${file}: ${(err as Error).message}`, err)
  }
  try {
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null)
      if (n === 0) break
      length += n
      if (length > MAX_TOKEN_SOURCE_BYTES)
        throw argument(`${file} holds more than ${MAX_TOKEN_SOURCE_BYTES} bytes: not a token file`)
    }
  } catch (err) {
    if (isTunnelError(err)) throw err
    throw argument(`cannot read ${file}: ${(err as Error).message}`, err)
  } finally {
    closeSync(fd)
  }
  const text = buf.toString('utf8', 0, length)
  buf.fill(0)
  return text
}

function readFile(file: string): string {
  try {
    checkPrivateFileMode(file)
  } catch (err) {
    if (!isTunnelError(err, 'TUN_ERR_KEY_FILE_PERMISSIONS')) throw err
    const mode = (statSync(file).mode & 0o777).toString(8).padStart(4, '0')
    throw new TunnelError(
      'TUN_ERR_KEY_FILE_PERMISSIONS',
      `permissions ${mode} for '${file}' are too open: a token is a private key and must not be readable by group or others. Run: chmod 600 '${file}'`,
    )
  }
  if (statSync(file).isDirectory()) throw argument(`${file} is a directory, not a token file`)
  return readBounded(file)
}

/**
 * The text of a token from `source`: a file path, `-` for stdin, or `env:NAME`. A token text given
 * where the source goes is refused without being used (it is already exposed in argv).
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` (token text in place of a source, unset variable,
 *   oversized input), `TUN_ERR_FILE_NOT_FOUND`, `TUN_ERR_KEY_FILE_PERMISSIONS` (file mode too open).
 */
export async function readTokenText(source: string, options: TokenSourceOptions): Promise<string> {
  if (typeof source !== 'string' || source === '') throw argument(`a token source is ${TOKEN_SOURCE_HINT}`)
  if (looksLikeTokenText(source)) {
    throw argument(
      `tokens are read from a file, - (stdin) or env:NAME, never from the command line: argv is visible to other users (ps) and kept in shell history. Save it to a file (mode 0600) and pass the path; treat this one as exposed`,
    )
  }
  if (source === '-') return readStream(options.stdin ?? process.stdin)
  if (source.startsWith('env:')) {
    const name = source.slice(4)
    if (!ENV_NAME.test(name)) throw argument(`env:${name}: not an environment variable name`)
    const value = options.env[name]
    if (value === undefined || value === '') throw argument(`environment variable ${name} is not set`)
    return value
  }
  return readFile(source)
}

/** {@link readTokenText}, then {@link decodeToken}; a decode error names the source. */
export async function readTokenSource(source: string, options: TokenSourceOptions): Promise<Token> {
  const text = await readTokenText(source, options)
  try {
    return decodeToken(text)
  } catch (err) {
    if (!isTunnelError(err)) throw err
    const where = source === '-' ? 'stdin' : source
    throw new TunnelError(err.code, `${where}: ${err.message}`, { cause: err })
  }
}

export interface WriteTokenFileOptions {
  /** Replace an existing file (atomically). Without it an existing file is an error. */
  readonly force?: boolean
}

/**
 * Writes a token text (and a newline) to `file` with mode 0600 whatever the umask, never through an
 * existing file's looser mode: a new file is created exclusively, a replaced one is renamed over.
 *
 * @throws TunnelError `TUN_ERR_KEY_FILE_EXISTS` (exists, no force), `TUN_ERR_FILE_NOT_FOUND` (no
 *   such directory).
 */
export function writeTokenFile(file: string, text: string, options: WriteTokenFileOptions = {}): void {
  const target = options.force === true ? `${file}.${process.pid}.tmp` : file
  let fd: number
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST')
      throw new TunnelError('TUN_ERR_KEY_FILE_EXISTS', `${file} already exists; pass --force to replace it`)
    if (code === 'ENOENT')
      throw new TunnelError('TUN_ERR_FILE_NOT_FOUND', `directory ${path.dirname(file)} does not exist`)
    throw err
  }
  try {
    writeSync(fd, `${text}\n`)
  } finally {
    closeSync(fd)
  }
  if (options.force === true) {
    try {
      renameSync(target, file)
    } catch (err) {
      unlinkSync(target)
      throw err
    }
  }
}
