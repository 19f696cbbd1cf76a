/**
 * Key files: the Ed25519 private key as PKCS#8 PEM (what `openssl pkey` reads), written with mode
 * 0600. Like ssh, a private key file that group or others can read is refused: a leaked identity
 * key lets anyone impersonate the node.
 */
import { createPrivateKey } from 'node:crypto'
import {
  chmodSync,
  constants,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
  closeSync,
  unlinkSync,
} from 'node:fs'
import path from 'node:path'
import { TunnelError } from '../errors.ts'
import { identityFromPrivateKey, type Identity } from './keys.ts'

export interface WriteKeyFileOptions {
  /** Replace an existing file. Without it an existing file is an error (TUN_ERR_KEY_FILE_EXISTS). */
  force?: boolean
}

export function encodeKeyFile(identity: Identity): string {
  return String(identity.privateKey.export({ format: 'pem', type: 'pkcs8' }))
}

export function decodeKeyFile(text: string, source = 'key'): Identity {
  let key
  try {
    key = createPrivateKey({ key: text, format: 'pem' })
  } catch (err) {
    throw new TunnelError('TUN_ERR_KEY_FILE_INVALID', `${source} is not a PEM private key`, { cause: err })
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TunnelError(
      'TUN_ERR_KEY_FILE_INVALID',
      `${source} holds a ${key.asymmetricKeyType} key; burrow keys are Ed25519`,
    )
  }
  return identityFromPrivateKey(key)
}

/** Writes the key with mode 0600 (whatever the umask), atomically when replacing. */
export function writeKeyFile(file: string, identity: Identity, options: WriteKeyFileOptions = {}): void {
  const pem = encodeKeyFile(identity)
  const target = options.force ? `${file}.${process.pid}.tmp` : file
  let fd: number
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TunnelError('TUN_ERR_KEY_FILE_EXISTS', `${file} already exists; pass --force to replace it`)
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TunnelError('TUN_ERR_FILE_NOT_FOUND', `directory ${path.dirname(file)} does not exist`)
    }
    throw err
  }
  try {
    writeSync(fd, pem)
  } finally {
    closeSync(fd)
  }
  chmodSync(target, 0o600)
  if (options.force) {
    try {
      renameSync(target, file)
    } catch (err) {
      unlinkSync(target)
      throw err
    }
  }
}

/** Throws TUN_ERR_KEY_FILE_PERMISSIONS when a private file is open to group or others. */
export function checkPrivateFileMode(file: string): void {
  let mode: number
  try {
    mode = statSync(file).mode
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TunnelError('TUN_ERR_FILE_NOT_FOUND', `${file} does not exist`)
    throw err
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0')
    throw new TunnelError(
      'TUN_ERR_KEY_FILE_PERMISSIONS',
      `permissions ${octal} for '${file}' are too open: a private key must not be readable by group or others. Run: chmod 600 '${file}'`,
    )
  }
}

export function readKeyFile(file: string): Identity {
  checkPrivateFileMode(file)
  return decodeKeyFile(readFileSync(file, 'utf8'), file)
}
