/**
 * `burrow expose` through the real CLI: a relay started with `--expose-allow`, an exposing peer
 * (`burrow expose --local ...`), and curl to the public address it prints.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import {
  makeClientKey,
  startRelay,
  tempDir,
  type ClientKey,
  type RelayDaemon,
} from '../helpers/burrow-procs.ts'
import { BURROW_BIN } from '../helpers/cli.ts'
import { findBinary, run, startProcess } from '../helpers/processes.ts'
import { startHttpServer, type HttpFixture } from '../helpers/servers.ts'

const dir = tempDir('expose')
let relay: RelayDaemon
let peer: ClientKey
let stranger: ClientKey
let http: HttpFixture
const noCurl = !findBinary('curl') && 'curl not installed: run .ci/run'

before(async () => {
  ;[peer, stranger, http] = await Promise.all([
    makeClientKey(dir, 'peer'),
    makeClientKey(dir, 'stranger'),
    startHttpServer(),
  ])
  const allow = path.join(dir, 'expose-allow')
  writeFileSync(allow, `# who may open public ports\n${peer.id} *\n`)
  relay = await startRelay({ args: ['--expose-allow', allow, '--expose-ports', '24000-24999', '--verbose'] })
})
after(async () => {
  await relay?.stop()
  await http?.close()
})

function expose(key: string, extra: string[] = []) {
  return startProcess(process.execPath, [
    BURROW_BIN,
    'expose',
    '--relay',
    relay.address,
    '--local',
    `127.0.0.1:${http.port}`,
    '--key',
    key,
    '--data-dir',
    dir,
    ...extra,
  ])
}

test(
  'burrow expose prints its public address; curl through it reaches the local service',
  { skip: noCurl },
  async () => {
    const proc = await expose(peer.key)
    try {
      const [, address, host, port] = await proc.waitFor(/is public at tcp:((127\.0\.0\.1):(\d+)) \(/, {
        stream: 'stdout',
        timeoutMs: 15_000,
      })
      assert.equal(host, '127.0.0.1')
      assert.ok(Number(port) >= 24000 && Number(port) <= 24999, `port ${port} from --expose-ports`)
      const r = await run('curl', ['-sS', '--fail', '--max-time', '20', `http://${address}/hello`])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout.toString(), http.bodies['/hello'])
      await relay.waitForEvent({ event: 'expose', peer: peer.id, port: Number(port) })
      await relay.waitForEvent({ event: 'visitor', port: Number(port) })
    } finally {
      await proc.stop()
    }
    await relay.waitForEvent({ event: 'unexpose', peer: peer.id })
  },
)

test(
  '--json: ready, then an exposed event; the same peer gets its port back with --port',
  { skip: noCurl },
  async () => {
    const first = await expose(peer.key, ['--json'])
    let port: number
    try {
      const ready = JSON.parse(
        (await first.waitFor(/^\{"event":"ready"/, { stream: 'stdout', timeoutMs: 15_000 })).input ?? '',
      )
      assert.equal(ready.id, peer.id)
      assert.equal(ready.local, `127.0.0.1:${http.port}`)
      const line = await first.waitFor(/^\{"event":"exposed"/, { stream: 'stdout' })
      const exposed = JSON.parse(line.input ?? '') as { port: number; tcp: string; address: string }
      port = exposed.port
      assert.equal(exposed.tcp, `tcp:127.0.0.1:${port}`)
    } finally {
      await first.stop()
    }
    const again = await expose(peer.key, ['--json', '--port', String(port)])
    try {
      const line = await again.waitFor(/^\{"event":"exposed"/, { stream: 'stdout', timeoutMs: 15_000 })
      assert.equal((JSON.parse(line.input ?? '') as { port: number }).port, port)
      const r = await run('curl', ['-sS', '--fail', '--max-time', '20', `http://127.0.0.1:${port}/`])
      assert.equal(r.stdout.toString(), http.bodies['/'])
    } finally {
      await again.stop()
    }
  },
)

test('a peer missing from --expose-allow is refused: TUN_ERR_EXPOSE_DENIED and exit code 6', async () => {
  const proc = await expose(stranger.key)
  const exit = await proc.exited
  assert.equal(exit.code, 6, proc.stderr())
  assert.match(
    proc.stderr(),
    /burrow expose: TUN_ERR_EXPOSE_DENIED: this relay does not let \w+ expose public ports/,
  )
})
