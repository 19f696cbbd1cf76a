/**
 * Reading an allow file from disk, with the stat signature the watcher compares (clients.ts). Kept
 * apart from allow-file.ts so that the format stays pure.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type BigIntStats } from 'node:fs'
import { open } from 'node:fs/promises'
import { TunnelError, isTunnelError } from '../errors.ts'
import { MAX_ALLOW_FILE_BYTES, parseAllowFile, type AllowEntry } from './allow-file.ts'

/** Opening with O_NONBLOCK: a FIFO put where the file should be is refused, not waited on forever. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

/** The entries of one read of the file, and which version of the file they came from. */
export interface Snapshot {
  readonly entries: AllowEntry[]
  /** Identity and version of the file read (device, inode, size, mtime, ctime in ns). */
  readonly signature: string
}

/** Changes whenever the file is replaced or written (nanosecond times, so same-size edits show). */
export const signatureOf = (st: BigIntStats): string =>
  `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`

/** Maps a file-system error to a coded one naming the file; TunnelErrors pass through. */
export function fileError(file: string, err: unknown): TunnelError {
  if (isTunnelError(err)) return err
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (code === 'ENOENT') {
    return new TunnelError('TUN_ERR_FILE_NOT_FOUND', `allowed-clients file ${file} does not exist`, {
      cause: err,
    })
  }
  return new TunnelError(
    'TUN_ERR_INVALID_ARGUMENT',
    `cannot read allowed-clients file ${file} (${code ?? err})`,
    {
      cause: err,
    },
  )
}

function checkStat(file: string, st: BigIntStats): void {
  if (!st.isFile()) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${file} is not a regular file`)
  if (st.size > BigInt(MAX_ALLOW_FILE_BYTES)) {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${file}: larger than ${MAX_ALLOW_FILE_BYTES} bytes`)
  }
}

/** Reads through one descriptor, so the signature belongs to the bytes read even if the file is replaced. */
export function readSnapshotSync(file: string): Snapshot {
  let fd: number | undefined
  try {
    fd = openSync(file, OPEN_FLAGS)
    const st = fstatSync(fd, { bigint: true })
    checkStat(file, st)
    return { entries: parseAllowFile(readFileSync(fd, 'utf8'), file), signature: signatureOf(st) }
  } catch (err) {
    throw fileError(file, err)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** The asynchronous {@link readSnapshotSync}, for reloads. */
export async function readSnapshot(file: string): Promise<Snapshot> {
  let handle
  try {
    handle = await open(file, OPEN_FLAGS)
    const st = await handle.stat({ bigint: true })
    checkStat(file, st)
    return { entries: parseAllowFile(await handle.readFile('utf8'), file), signature: signatureOf(st) }
  } catch (err) {
    throw fileError(file, err)
  } finally {
    await handle?.close()
  }
}
