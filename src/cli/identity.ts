/** The identity a command runs as: --key FILE, or <data-dir>/<name>.key created on first start. */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { generateIdentity, type Identity } from '../identity/keys.ts'
import { readKeyFile, writeKeyFile } from '../identity/keyfile.ts'
import { dataDir } from './args.ts'
import type { Output } from './output.ts'

export function loadIdentity(
  keyFlag: string | undefined,
  dataDirFlag: string | undefined,
  name: string,
  out: Output,
): Identity {
  if (keyFlag !== undefined) return readKeyFile(keyFlag)
  const file = path.join(dataDir(dataDirFlag), `${name}.key`)
  if (existsSync(file)) return readKeyFile(file)
  const identity = generateIdentity()
  writeKeyFile(file, identity)
  out.notice(
    'identity-created',
    { id: identity.id, file },
    `created a new identity ${identity.id} in ${file}`,
  )
  return identity
}
