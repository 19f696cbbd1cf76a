// Reading tokens from a file, stdin or env:NAME (never argv), and writing them 0600.
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, test } from 'node:test'
import {
  MAX_TOKEN_SOURCE_BYTES,
  createServerToken,
  encodeToken,
  readTokenSource,
  readTokenText,
  writeTokenFile,
} from '../../../src/token/index.ts'
import { RELAY_ADDRESS, SERVER, T0 } from './fixtures.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-token-source-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const text = encodeToken(createServerToken({ identity: SERVER, relays: [RELAY_ADDRESS], now: T0 }))
const env = {}

test('a token file is written 0600 whatever the umask, with a newline, and reads back', async () => {
  const file = path.join(dir, 'a.token')
  const old = process.umask(0)
  try {
    writeTokenFile(file, text)
  } finally {
    process.umask(old)
  }
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(readFileSync(file, 'utf8'), `${text}\n`)
  assert.equal((await readTokenSource(file, { env })).kind, 'server')
})

test('an existing token file is kept unless force is given; force keeps 0600', async () => {
  const file = path.join(dir, 'b.token')
  writeFileSync(file, 'old', { mode: 0o600 })
  assert.throws(() => writeTokenFile(file, text), { code: 'TUN_ERR_KEY_FILE_EXISTS' })
  assert.equal(readFileSync(file, 'utf8'), 'old')
  chmodSync(file, 0o644)
  writeTokenFile(file, text, { force: true })
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(await readTokenText(file, { env }), `${text}\n`)
  assert.throws(() => writeTokenFile(path.join(dir, 'no/such/dir/x'), text), {
    code: 'TUN_ERR_FILE_NOT_FOUND',
  })
})

test('a token file readable by group or others is refused, like a key file', async () => {
  const file = path.join(dir, 'open.token')
  writeTokenFile(file, text)
  for (const mode of [0o644, 0o640, 0o604]) {
    chmodSync(file, mode)
    await assert.rejects(readTokenSource(file, { env }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TUN_ERR_KEY_FILE_PERMISSIONS')
      assert.match(err.message, /too open: a token is a private key .*chmod 600/)
      return true
    })
  }
  await assert.rejects(readTokenText(path.join(dir, 'missing'), { env }), { code: 'TUN_ERR_FILE_NOT_FOUND' })
})

test('directories and oversized files are refused with a code', async () => {
  const sub = path.join(dir, 'sub')
  mkdirSync(sub, { mode: 0o700 })
  await assert.rejects(readTokenText(sub, { env }), /is a directory/)
  const big = path.join(dir, 'big.token')
  writeFileSync(big, 'A'.repeat(MAX_TOKEN_SOURCE_BYTES + 1), { mode: 0o600 })
  await assert.rejects(readTokenText(big, { env }), /more than \d+ bytes: not a token file/)
})

test('env:NAME reads a variable; unset, empty and malformed names are refused', async () => {
  assert.equal(
    (await readTokenSource('env:BURROW_TOKEN', { env: { BURROW_TOKEN: `${text}\n` } })).kind,
    'server',
  )
  await assert.rejects(readTokenText('env:NOPE', { env }), /environment variable NOPE is not set/)
  await assert.rejects(readTokenText('env:EMPTY', { env: { EMPTY: '' } }), /not set/)
  await assert.rejects(readTokenText('env:1X', { env }), { code: 'TUN_ERR_INVALID_ARGUMENT' })
})

test('- reads stdin, up to a bound', async () => {
  const stdin = Readable.from([Buffer.from(text.slice(0, 50)), Buffer.from(`${text.slice(50)}\n`)])
  assert.equal((await readTokenSource('-', { env, stdin })).kind, 'server')
  const flood = Readable.from([Buffer.alloc(MAX_TOKEN_SOURCE_BYTES + 1, 0x41)])
  await assert.rejects(readTokenText('-', { env, stdin: flood }), { code: 'TUN_ERR_INVALID_ARGUMENT' })
})

test('a token text where a source goes is refused, saying where tokens are read from', async () => {
  for (const source of [text, ` ${text}`, 'burrow-client-v1.AAAA', 'burrow-grant-v1.x']) {
    await assert.rejects(readTokenText(source, { env }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TUN_ERR_INVALID_ARGUMENT')
      assert.match(
        err.message,
        /tokens are read from a file, - \(stdin\) or env:NAME, never from the command line/,
      )
      return true
    })
  }
})

test('a decode error names its source', async () => {
  const file = path.join(dir, 'bad.token')
  writeTokenFile(file, `${text.slice(0, -3)}`)
  await assert.rejects(readTokenSource(file, { env }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TUN_ERR_TOKEN_INVALID')
    assert.ok(err.message.startsWith(`${file}: `), err.message)
    return true
  })
  await assert.rejects(readTokenSource('-', { env, stdin: Readable.from(['nope']) }), /^TunnelError: stdin: /)
})
