/**
 * OpenSSH through relayed tunnels, as users run it: `burrow connect --stdio` as a ProxyCommand,
 * and plain ssh/scp to a local port of `burrow open`. A private sshd on loopback is the target.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import {
  makeClientKey,
  proxyCommand,
  startOpen,
  startRelay,
  startServe,
  tempDir,
  type ClientKey,
  type OpenDaemon,
  type RelayDaemon,
  type ServeDaemon,
} from '../helpers/burrow-procs.ts'
import { makeRandomFile, sha256File } from '../helpers/files.ts'
import { findBinary, run } from '../helpers/processes.ts'
import { sshConfig, startSshd, type SshdFixture } from '../helpers/sshd.ts'

/** ssh/scp runs are bounded; a 64 MiB copy through the tunnel takes a few seconds. */
const SSH_RUN_TIMEOUT_MS = 30_000
const SCP_TIMEOUT_MS = 60_000
/** Bounds each test, whatever hangs. */
const TEST_TIMEOUT_MS = 120_000
const COPY_BYTES = 64 * 1024 * 1024

const missing = ['ssh', 'scp', 'sshd', 'ssh-keygen'].filter((b) => findBinary(b) === undefined)
const skip = missing.length > 0 ? `${missing.join(', ')} not installed: run .ci/run` : false

const dir = tempDir('ssh')
let sshd: SshdFixture
let relay: RelayDaemon
let serve: ServeDaemon
let open: OpenDaemon
let client: ClientKey
let config: string

before(async () => {
  if (skip) return
  ;[sshd, relay, client] = await Promise.all([startSshd(), startRelay(), makeClientKey(dir)])
  serve = await startServe({
    relay: relay.address,
    exposeTcp: `127.0.0.1:${sshd.port}`,
    allowClients: [client.id],
  })
  open = await startOpen({ server: serve.address, key: client.key })
  config = sshConfig(path.join(dir, 'ssh_config'), [
    sshd.hostEntry('via-connect', { proxyCommand: proxyCommand(serve.address, client.key) }),
    // ssh reaches 127.0.0.1:<open port>; the host key is the one known for sshd's own port.
    { ...sshd.hostEntry('via-open'), port: open.port, options: { HostKeyAlias: `[127.0.0.1]:${sshd.port}` } },
  ])
})

after(async () => {
  await Promise.all([open?.stop(), serve?.stop()])
  await Promise.all([relay?.stop(), sshd?.stop()])
})

const ssh = (alias: string, ...command: string[]) =>
  run(findBinary('ssh') as string, ['-F', config, alias, ...command], { timeoutMs: SSH_RUN_TIMEOUT_MS })

test(
  'ssh with burrow connect as ProxyCommand runs a command at the server peer',
  { skip, timeout: TEST_TIMEOUT_MS },
  async () => {
    const r = await ssh('via-connect', 'echo', 'ok')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), 'ok\n')
  },
)

test(
  'ssh to the local port of burrow open runs a command at the server peer',
  { skip, timeout: TEST_TIMEOUT_MS },
  async () => {
    const since = open.events().length
    const r = await ssh('via-open', 'echo', 'ok')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), 'ok\n')
    // The connection really went through open, and both ways.
    const end = await open.waitForEvent({ event: 'connection-end' }, { since })
    assert.ok(Number(end.bytesIn) > 0 && Number(end.bytesOut) > 0, JSON.stringify(end))
  },
)

test(
  'scp copies a 64 MiB random file through the tunnel, both ways, intact',
  { skip, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const file = await makeRandomFile(dir, COPY_BYTES)
    const remote = path.join(dir, 'uploaded.bin')
    const back = path.join(dir, 'downloaded.bin')
    t.after(() => [file.path, remote, back].forEach((f) => rmSync(f, { force: true })))
    const scp = findBinary('scp') as string

    let started = Date.now()
    const up = await run(scp, ['-F', config, '-q', file.path, `via-open:${remote}`], {
      timeoutMs: SCP_TIMEOUT_MS,
    })
    assert.equal(up.code, 0, up.stderr)
    t.diagnostic(`upload via burrow open: ${rate(COPY_BYTES, Date.now() - started)}`)
    assert.equal(await sha256File(remote), file.sha256)

    started = Date.now()
    const down = await run(scp, ['-F', config, '-q', `via-connect:${remote}`, back], {
      timeoutMs: SCP_TIMEOUT_MS,
    })
    assert.equal(down.code, 0, down.stderr)
    t.diagnostic(`download via burrow connect: ${rate(COPY_BYTES, Date.now() - started)}`)
    assert.equal(await sha256File(back), file.sha256)
  },
)

function rate(bytes: number, ms: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB in ${ms} ms (${((bytes * 8) / (ms / 1000) / 1e6).toFixed(0)} Mbit/s)`
}
