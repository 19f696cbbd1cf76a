import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { runBurrow } from '../helpers/cli.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-e2e-keygen-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('burrow keygen --output and burrow id --key print the same 52-character id', async () => {
  const file = path.join(dir, 'k.key')
  const gen = await runBurrow(['keygen', '--output', file])
  assert.equal(gen.code, 0, gen.stderr)
  const id = gen.stdout.trim()
  assert.match(id, /^[a-z2-7]{52}$/)
  assert.equal(statSync(file).mode & 0o777, 0o600)
  const shown = await runBurrow(['id', '--key', file])
  assert.equal(shown.code, 0, shown.stderr)
  assert.equal(shown.stdout.trim(), id)
})

test('a key file with mode 0644 is refused with a clear message and exit code 3', async () => {
  const file = path.join(dir, 'open.key')
  assert.equal((await runBurrow(['keygen', '--output', file])).code, 0)
  chmodSync(file, 0o644)
  const res = await runBurrow(['id', '--key', file])
  assert.equal(res.code, 3)
  assert.match(res.stderr, /TUN_ERR_KEY_FILE_PERMISSIONS: permissions 0644 .* too open.*chmod 600/)
  assert.equal(res.stdout, '')
})

test('keygen refuses to overwrite without --force', async () => {
  const file = path.join(dir, 'twice.key')
  const first = await runBurrow(['keygen', '--output', file])
  const again = await runBurrow(['keygen', '--output', file])
  assert.equal(again.code, 3)
  assert.match(again.stderr, /already exists.*--force/)
  assert.equal((await runBurrow(['id', '--key', file])).stdout, first.stdout)
  const forced = await runBurrow(['keygen', '--output', file, '--force'])
  assert.equal(forced.code, 0)
  assert.notEqual(forced.stdout, first.stdout)
})

test('burrow id without --key shows the default identity, created once in the data dir', async () => {
  const data = path.join(dir, 'data')
  const first = await runBurrow(['id', '--data-dir', data])
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stderr, /created a new identity/)
  const again = await runBurrow(['id', '--data-dir', data])
  assert.equal(again.stdout, first.stdout)
  assert.equal(again.stderr, '')
  assert.equal(statSync(path.join(data, 'id.key')).mode & 0o777, 0o600)
})

test('usage errors exit 2: unknown flag, unknown command', async () => {
  const unknownFlag = await runBurrow(['id', '--kee', 'x'])
  assert.equal(unknownFlag.code, 2)
  assert.match(unknownFlag.stderr, /Unknown option '--kee'/)
  const unknownCmd = await runBurrow(['frobnicate'])
  assert.equal(unknownCmd.code, 2)
  assert.match(unknownCmd.stderr, /unknown command "frobnicate"/)
})

test('burrow --help lists the commands, and each command has --help', async () => {
  const help = await runBurrow(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /keygen/)
  const sub = await runBurrow(['keygen', '--help'])
  assert.equal(sub.code, 0)
  assert.match(sub.stdout, /--output <file>/)
})
