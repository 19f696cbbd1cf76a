import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { generateIdentity } from '../../../src/identity/keys.ts'
import { readKeyFile, writeKeyFile } from '../../../src/identity/keyfile.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-keyfile-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('a key file is written 0600 whatever the umask, and reads back to the same id', () => {
  const file = path.join(dir, 'a.key')
  const old = process.umask(0)
  try {
    writeKeyFile(file, generateIdentity())
  } finally {
    process.umask(old)
  }
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.match(readFileSync(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
  const identity = readKeyFile(file)
  assert.equal(readKeyFile(file).id, identity.id)
})

test('an existing file is kept unless force is given', () => {
  const file = path.join(dir, 'b.key')
  const first = generateIdentity()
  writeKeyFile(file, first)
  assert.throws(() => writeKeyFile(file, generateIdentity()), { code: 'TUN_ERR_KEY_FILE_EXISTS' })
  assert.equal(readKeyFile(file).id, first.id)
  const second = generateIdentity()
  writeKeyFile(file, second, { force: true })
  assert.equal(readKeyFile(file).id, second.id)
  assert.equal(statSync(file).mode & 0o777, 0o600)
})

test('a private key readable by group or others is refused, like ssh', () => {
  const file = path.join(dir, 'c.key')
  writeKeyFile(file, generateIdentity())
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(file, mode)
    assert.throws(() => readKeyFile(file), {
      code: 'TUN_ERR_KEY_FILE_PERMISSIONS',
      message: /too open.*chmod 600/,
    })
  }
  chmodSync(file, 0o400)
  assert.ok(readKeyFile(file).id)
})

test('missing and malformed key files give their own codes', () => {
  assert.throws(() => readKeyFile(path.join(dir, 'nope.key')), { code: 'TUN_ERR_FILE_NOT_FOUND' })
  const junk = path.join(dir, 'junk.key')
  writeFileSync(junk, 'not a key', { mode: 0o600 })
  assert.throws(() => readKeyFile(junk), { code: 'TUN_ERR_KEY_FILE_INVALID' })
  assert.throws(() => writeKeyFile(path.join(dir, 'no', 'such', 'dir.key'), generateIdentity()), {
    code: 'TUN_ERR_FILE_NOT_FOUND',
  })
})
