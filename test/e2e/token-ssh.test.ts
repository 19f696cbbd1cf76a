/**
 * The README's token flow for SSH, with the real CLI and a real sshd: a server token, a client
 * token minted from it, `serve --token-file`, and ssh with `connect --token-file` as ProxyCommand.
 * A client token cannot serve; a revoked token is refused with its own exit code.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { BURROW_BIN, runBurrow } from '../helpers/cli.ts'
import {
  startRelay,
  startServe,
  tempDir,
  type RelayDaemon,
  type ServeDaemon,
} from '../helpers/burrow-procs.ts'
import { findBinary, run } from '../helpers/processes.ts'
import { sshConfig, startSshd, type SshdFixture } from '../helpers/sshd.ts'

const TEST_TIMEOUT_MS = 90_000
const missing = ['ssh', 'sshd', 'ssh-keygen'].filter((b) => findBinary(b) === undefined)
const skip = missing.length > 0 ? `${missing.join(', ')} not installed: run .ci/run` : false

const dir = tempDir('token-ssh')
const serverToken = path.join(dir, 'server.token')
const clientToken = path.join(dir, 'client.token')
const revoked = path.join(dir, 'revoked.txt')
let sshd: SshdFixture
let relay: RelayDaemon
let serve: ServeDaemon
let config: string

before(async () => {
  if (skip) return
  ;[sshd, relay] = await Promise.all([startSshd(), startRelay()])
  const made = await runBurrow(['token', 'server', '--relay', relay.address, '--output', serverToken])
  assert.equal(made.code, 0, made.stderr)
  const minted = await runBurrow([
    'token',
    'client',
    '--server-token',
    serverToken,
    '--name',
    'laptop',
    '--output',
    clientToken,
  ])
  assert.equal(minted.code, 0, minted.stderr)
  writeFileSync(revoked, '')
  serve = await startServe({
    relay: [],
    exposeTcp: `127.0.0.1:${sshd.port}`,
    args: ['--token-file', serverToken, '--revoked-file', revoked],
    waitRelayReady: false,
  })
  await serve.waitForEvent({ event: 'relay', state: 'ready' })
  const proxy = [process.execPath, BURROW_BIN, 'connect', '--token-file', clientToken, '--stdio']
    .map((w) => `'${w}'`)
    .join(' ')
  config = sshConfig(path.join(dir, 'ssh_config'), [sshd.hostEntry('via-token', { proxyCommand: proxy })])
})

after(async () => {
  await serve?.stop()
  await Promise.all([relay?.stop(), sshd?.stop()])
})

test(
  'ssh through the tunnel with nothing but a client token',
  { skip, timeout: TEST_TIMEOUT_MS },
  async () => {
    const r = await run(findBinary('ssh') as string, ['-F', config, 'via-token', 'echo', 'token', 'ok'], {
      timeoutMs: 30_000,
    })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), 'token ok\n')
  },
)

test(
  'a client token cannot serve: a clear message and exit 2',
  { skip, timeout: TEST_TIMEOUT_MS },
  async () => {
    const r = await runBurrow([
      'serve',
      '--token-file',
      clientToken,
      '--expose-tcp',
      `127.0.0.1:${sshd.port}`,
    ])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /TUN_ERR_TOKEN_KIND: .*a client token cannot serve/)
  },
)

test(
  'a revoked client token is refused: exit 6, TUN_ERR_TOKEN_REVOKED',
  { skip, timeout: TEST_TIMEOUT_MS },
  async () => {
    const inspected = await runBurrow(['token', 'inspect', clientToken, '--json'])
    const tokenId = String((JSON.parse(inspected.stdout) as { tokenId?: string }).tokenId)
    assert.match(tokenId, /^[0-9a-f]{32}$/)
    writeFileSync(revoked, `${tokenId}\n`)
    await serve.waitForEvent({ event: 'revocations' })
    const r = await runBurrow(['connect', '--token-file', clientToken, '--stdio', '--path-wait', '5000'], {
      input: '',
    })
    assert.equal(r.code, 6, r.stderr)
    assert.match(r.stderr, /TUN_ERR_TOKEN_REVOKED/)
  },
)
