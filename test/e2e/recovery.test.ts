/**
 * Recovery, with real processes: a relay killed with SIGKILL and started again (same data dir, so
 * the same id, and the same port) is found again by `serve` and `open` on their own, within the
 * issue's bound; a server peer killed with SIGKILL makes new connections fail fast with a coded
 * reason instead of hanging.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, test } from 'node:test'
import {
  makeClientKey,
  runConnect,
  startOpen,
  startRelay,
  startServe,
  tempDir,
  type ClientKey,
} from '../helpers/burrow-procs.ts'
import { startEchoServer, type LoopbackServer } from '../helpers/servers.ts'

/** Bounds the test, whatever hangs. */
const TEST_TIMEOUT_MS = 90_000
/** From the issue: a server peer is announced again within 5 s of its relay's return. */
const REANNOUNCE_BOUND_MS = 5_000
/** A connection through open after the relay's return must work within this (open's path wait is 10 s). */
const RECONNECT_BOUND_MS = 10_000
/** A connection to a dead server peer must fail within this, not wait for the whole path wait. */
const FAIL_FAST_BOUND_MS = 5_000
const EXIT_PEER = 5

const dir = tempDir('recovery')
let client: ClientKey
let echo: LoopbackServer

before(async () => {
  ;[client, echo] = await Promise.all([makeClientKey(dir), startEchoServer()])
})
after(() => echo?.close())

test(
  'relay SIGKILL and restart: serve re-announces within 5 s and open carries new connections; then serve SIGKILL gives coded failures',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const relay = await startRelay()
    t.after(() => relay.stop())
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: `127.0.0.1:${echo.port}`,
      allowClients: [client.id],
    })
    t.after(() => serve.stop())
    const open = await startOpen({ server: serve.address, key: client.key })
    t.after(() => open.stop())
    assert.equal(await echoThrough(open.port, 'before the crash', RECONNECT_BOUND_MS), 'before the crash')

    // The relay crashes: both peers notice (their hop links drop) and start retrying.
    let since = { serve: serve.events().length, open: open.events().length }
    await relay.kill()
    await Promise.all([
      serve.waitForEvent({ event: 'relay', state: 'waiting' }, { since: since.serve }),
      open.waitForEvent({ event: 'relay', state: 'waiting' }, { since: since.open }),
    ])

    const again = await startRelay({ dataDir: relay.dataDir, port: relay.port })
    const back = Date.now()
    t.after(() => again.stop())
    assert.equal(again.id, relay.id, 'the restarted relay has another id')
    assert.equal(again.address, relay.address)
    await serve.waitForEvent(
      { event: 'relay', state: 'ready' },
      { since: since.serve, timeoutMs: REANNOUNCE_BOUND_MS + 5_000 },
    )
    const reannouncedMs = Date.now() - back
    t.diagnostic(`serve re-announced ${reannouncedMs} ms after the relay's return`)
    assert.ok(reannouncedMs <= REANNOUNCE_BOUND_MS, `serve re-announced after ${reannouncedMs} ms`)
    const echoed = await echoThrough(open.port, 'after the restart', RECONNECT_BOUND_MS).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}\nopen:\n${open.process.stdout()}\n${open.process.stderr()}\nserve:\n${serve.process.stdout()}`,
        )
      },
    )
    assert.equal(echoed, 'after the restart')
    await open.waitForEvent({ event: 'relay', state: 'ready' }, { since: since.open })

    // The server peer crashes: open's session ends, and the next connection fails with a reason.
    since = { serve: serve.events().length, open: open.events().length }
    await serve.kill()
    await open.waitForEvent({ event: 'session-end' }, { since: since.open })
    const started = Date.now()
    const outcome = await connectionOutcome(open.port, 'to a dead server', FAIL_FAST_BOUND_MS)
    t.diagnostic(
      `a connection to the dead server peer ended after ${Date.now() - started} ms (${outcome.error ?? 'no error'})`,
    )
    assert.equal(
      outcome.timedOut,
      false,
      `the connection to a dead server peer hung for ${FAIL_FAST_BOUND_MS} ms`,
    )
    assert.equal(outcome.received, 0, 'bytes came back from a dead server peer')
    const failed = await open.waitForEvent((e) => e.event === 'connection-end' && e.err !== undefined, {
      since: since.open,
    })
    const code = (failed.err as { code?: string }).code
    assert.ok(code === 'TUN_ERR_PEER_NOT_FOUND' || code === 'TUN_ERR_PATH_DOWN', JSON.stringify(failed))

    const viaConnect = await runConnect(serve.address, client.key, { input: 'anyone there?' })
    assert.equal(viaConnect.code, EXIT_PEER, viaConnect.stderr)
    assert.match(viaConnect.stderr, /^burrow connect: TUN_ERR_PEER_NOT_FOUND: /m)
    assert.equal(viaConnect.stdout.length, 0)
  },
)

/** One connection to `port`: sends `text`, half-closes, returns what came back; rejects after `boundMs`. */
async function echoThrough(port: number, text: string, boundMs: number): Promise<string> {
  const outcome = await connectionOutcome(port, text, boundMs)
  if (outcome.error !== undefined) throw new Error(`the connection (${text}) failed: ${outcome.error}`)
  return outcome.data.toString()
}

/** Connects, sends `text`, half-closes, and waits (at most `boundMs`) for the socket to close. */
async function connectionOutcome(
  port: number,
  text: string,
  boundMs: number,
): Promise<{ data: Buffer; received: number; timedOut: boolean; error?: string }> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  const chunks: Buffer[] = []
  let error: string | undefined
  let timedOut = false
  s.on('data', (d: Buffer) => chunks.push(d))
  s.on('end', () => s.end())
  s.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
  const timer = setTimeout(() => {
    timedOut = true
    s.destroy(new Error(`still open after ${boundMs} ms`))
  }, boundMs)
  const closed = new Promise((resolve) => s.once('close', resolve))
  s.end(text)
  await closed
  clearTimeout(timer)
  const data = Buffer.concat(chunks)
  return { data, received: data.length, timedOut, ...(error === undefined ? {} : { error }) }
}
