/**
 * Files of random bytes with known digests, for transfers through tunnels (scp, ssh cat, HTTP
 * uploads): write once, compare sha256 at the far end. Written and hashed in chunks, so a large
 * file never sits in memory whole.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'

/** Bytes generated and written per step. */
export const FILE_CHUNK_BYTES = 1024 * 1024
/** Largest file {@link makeRandomFile} makes: a guard against a unit slip (bytes vs KiB) filling the disk. */
export const MAX_RANDOM_FILE_BYTES = 4 * 1024 * 1024 * 1024

export interface RandomFile {
  /** Absolute path of the new file. */
  path: string
  /** Its size in bytes. */
  bytes: number
  /** Lower-case hex sha256 of its contents. */
  sha256: string
}

/**
 * Writes `bytes` random bytes (node:crypto randomBytes) to a new file in `dir` named
 * `random-<bytes>-<8 hex>.bin` (or `name`), hashing as it writes; fails if the file exists.
 */
export async function makeRandomFile(dir: string, bytes: number, name?: string): Promise<RandomFile> {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_RANDOM_FILE_BYTES) {
    throw new RangeError(`bytes must be an integer in 0..${MAX_RANDOM_FILE_BYTES}, got ${bytes}`)
  }
  const file = path.resolve(dir, name ?? `random-${bytes}-${randomBytes(4).toString('hex')}.bin`)
  const hash = createHash('sha256')
  const handle = await open(file, 'wx')
  try {
    for (let left = bytes; left > 0;) {
      const chunk = randomBytes(Math.min(left, FILE_CHUNK_BYTES))
      hash.update(chunk)
      for (let at = 0; at < chunk.length;) at += (await handle.write(chunk, at)).bytesWritten
      left -= chunk.length
    }
  } finally {
    await handle.close()
  }
  return { path: file, bytes, sha256: hash.digest('hex') }
}

/** The lower-case hex sha256 of a file's contents, read as a stream. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES })) {
    hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

/** The lower-case hex sha256 of bytes in memory (e.g. a `run()` stdout). */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}
