/**
 * The server peer's policy, seen by clients of the CLI: refusals come back as `burrow connect`
 * exit codes with coded errors, a refused or denied request never reaches a target, session limits
 * hold, and removing a client from the allowed-clients file ends its session while others go on.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { renameSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, before, test } from 'node:test'
import {
  makeClientKey,
  runConnect,
  spawnConnect,
  startRelay,
  startServe,
  tempDir,
  type ClientKey,
  type RelayDaemon,
} from '../helpers/burrow-procs.ts'
import { freePort } from '../helpers/ports.ts'
import type { StartedProcess } from '../helpers/processes.ts'

/** Bounds each test, whatever hangs. */
const TEST_TIMEOUT_MS = 60_000
/** Exit codes of `burrow connect` (docs/cli.md). */
const EXIT = { REFUSED: 6, TARGET_DENIED: 7, TARGET_FAILED: 8 } as const
/** Bound on a session's end after its client is removed (the file is watched, debounced 100 ms). */
const REVOKE_TIMEOUT_MS = 10_000

const dir = tempDir('policy')
let relay: RelayDaemon
let alice: ClientKey
let bob: ClientKey
let mallory: ClientKey
let echo: CountingEcho
let other: CountingEcho

before(async () => {
  ;[relay, alice, bob, mallory, echo, other] = await Promise.all([
    startRelay(),
    makeClientKey(dir, 'alice'),
    makeClientKey(dir, 'bob'),
    makeClientKey(dir, 'mallory'),
    startCountingEcho(),
    startCountingEcho(),
  ])
})
after(async () => {
  await relay?.stop()
  await Promise.all([echo?.close(), other?.close()])
})

test(
  'a client that is not allowed gets exit 6 TUN_ERR_UNAUTHORIZED and the target is never dialed',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: `127.0.0.1:${echo.port}`,
      allowClients: [alice.id],
    })
    t.after(() => serve.stop())
    const before = echo.accepted
    const refused = await runConnect(serve.address, mallory.key, { input: 'let me in' })
    assert.equal(refused.code, EXIT.REFUSED, refused.stderr)
    assert.match(refused.stderr, /^burrow connect: TUN_ERR_UNAUTHORIZED: /m)
    assert.equal(refused.stdout.length, 0)
    await serve.waitForEvent({ event: 'refused' })
    assert.equal(echo.accepted, before, 'the target was dialed for a refused client')
    // The same server and target work for the allowed client: the counter does count.
    const allowed = await runConnect(serve.address, alice.key, { input: 'hello' })
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.equal(allowed.stdout.toString(), 'hello')
    assert.equal(echo.accepted, before + 1)
  },
)

test(
  'a target outside the policy gets exit 7 TUN_ERR_TARGET_DENIED and is never dialed',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: `127.0.0.1:${echo.port}`,
      allowClients: [alice.id],
    })
    t.after(() => serve.stop())
    const before = other.accepted
    const denied = await runConnect(serve.address, alice.key, {
      target: `tcp://127.0.0.1:${other.port}`,
      input: 'hello',
    })
    assert.equal(denied.code, EXIT.TARGET_DENIED, denied.stderr)
    assert.match(denied.stderr, /^burrow connect: TUN_ERR_TARGET_DENIED: /m)
    assert.equal(other.accepted, before, 'a denied target was dialed')
  },
)

test(
  'an allowed target with nothing listening gets exit 8 TUN_ERR_TARGET_REFUSED',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const closed = await freePort()
    const serve = await startServe({
      relay: relay.address,
      allowTcp: [`127.0.0.1:${closed}`],
      allowClients: [alice.id],
    })
    t.after(() => serve.stop())
    const failed = await runConnect(serve.address, alice.key, {
      target: `tcp://127.0.0.1:${closed}`,
      input: 'x',
    })
    assert.equal(failed.code, EXIT.TARGET_FAILED, failed.stderr)
    assert.match(failed.stderr, /^burrow connect: TUN_ERR_TARGET_REFUSED: /m)
  },
)

test(
  '--max-sessions 1 refuses a second client (exit 6 TUN_ERR_SESSION_LIMIT); the first keeps working',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: `127.0.0.1:${echo.port}`,
      allowClients: [alice.id, bob.id],
      maxSessions: 1,
    })
    t.after(() => serve.stop())
    const first = await spawnConnect(serve.address, alice.key)
    t.after(() => first.stop())
    await roundTrip(first, 'alice-1')
    const second = await runConnect(serve.address, bob.key, { input: 'bob-1\n' })
    assert.equal(second.code, EXIT.REFUSED, second.stderr)
    assert.match(second.stderr, /^burrow connect: TUN_ERR_SESSION_LIMIT: /m)
    await roundTrip(first, 'alice-2')
    first.child.stdin?.end()
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.stderr())
  },
)

test(
  'removing a client from --allow-clients-file ends its session; another client keeps working',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const file = path.join(dir, 'clients.txt')
    writeFileSync(file, `${alice.id} alice\n${bob.id} bob\n`)
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: `127.0.0.1:${echo.port}`,
      allowClientsFile: file,
    })
    t.after(() => serve.stop())
    const [a, b] = await Promise.all([
      spawnConnect(serve.address, alice.key),
      spawnConnect(serve.address, bob.key),
    ])
    t.after(() => Promise.all([a.stop(), b.stop()]))
    await Promise.all([roundTrip(a, 'alice-1'), roundTrip(b, 'bob-1')])
    const since = serve.events().length
    // Replaced as an editor saves: a new file renamed over the old one.
    writeFileSync(`${file}.new`, `${bob.id} bob\n`)
    renameSync(`${file}.new`, file)
    const change = await serve.waitForEvent({ event: 'allow-list-change' }, { since })
    assert.deepEqual(change.removed, [alice.id])
    const ended = await Promise.race([
      a.exited,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('the removed client is still connected')),
          REVOKE_TIMEOUT_MS,
        ).unref(),
      ),
    ])
    assert.notEqual(ended.code, 0, `the removed client's connect exited 0:\n${a.stderr()}`)
    assert.match(a.stderr(), /^burrow connect: TUN_ERR_[A-Z_]+: .*removed from the allow list/m)
    await t.test('the removed client is told why with its code: exit 6, TUN_ERR_UNAUTHORIZED', () => {
      assert.equal(ended.code, EXIT.REFUSED, a.stderr())
      assert.match(a.stderr(), /^burrow connect: TUN_ERR_UNAUTHORIZED: /m)
    })
    await serve.waitForEvent({ event: 'session-end', client: alice.id }, { since })
    await roundTrip(b, 'bob-2')
    b.child.stdin?.end()
    assert.deepEqual(await b.exited, { code: 0, signal: null }, b.stderr())
  },
)

/** Writes a line into a running `burrow connect` (to the echo target) and waits for it to come back. */
async function roundTrip(p: StartedProcess, text: string): Promise<void> {
  p.child.stdin?.write(`${text}\n`)
  await p.waitFor(new RegExp(`^${text}$`), { stream: 'stdout' })
}

interface CountingEcho {
  port: number
  /** Connections accepted so far. */
  readonly accepted: number
  close(): Promise<void>
}

/** An echo server on 127.0.0.1 that counts the connections it accepts. */
async function startCountingEcho(): Promise<CountingEcho> {
  let accepted = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}
