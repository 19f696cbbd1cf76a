/**
 * The Transport compliance suite: every transport runs it in a few lines, so tcp, unix, ws and wss
 * are held to one contract (src/transport/types.ts): ordered bytes, half-close, backpressure that
 * bounds memory, coded dial errors, many connections at once, destroy that never leaves the other
 * side hanging, and a listener that reports its real address and closes.
 *
 *   transportCompliance('tcp', async () => ({ transport: tcp, listenAddress: { kind: 'tcp', host: '127.0.0.1', port: 0 } }))
 *
 * `setup` runs once per test (a unix transport hands out a fresh path each time). Everything a test
 * opens is destroyed in its `after` hook, so the process exits by itself.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import { type TestContext, describe, test } from 'node:test'
import { type ErrorCode, isTunnelError } from '../../src/errors.ts'
import type { TransportAddress } from '../../src/address/types.ts'
import type { Conn, DialOptions, ListenOptions, Listener, Transport } from '../../src/transport/types.ts'

export interface ComplianceSetup {
  transport: Transport
  listenAddress: TransportAddress
  listenOptions?: ListenOptions
  dialOptions?: DialOptions
  /** Codes a peer may see when the other end is destroyed. Default: TUN_ERR_CONN_RESET, TUN_ERR_CONN_CLOSED. */
  resetCodes?: ErrorCode[]
  cleanup?(): Promise<void>
}

const MiB = 1024 * 1024
const KiB = 1024
/** Bytes sent each way in the ordered-delivery tests. */
const BULK_BYTES = 64 * MiB
/** Chunk size of every writer here. */
const CHUNK = 64 * KiB
/** write() must return false before this many bytes go to a reader that stopped reading. */
const BACKPRESSURE_BOUND = 32 * MiB
/**
 * A writer waiting this long for 'drain' counts as stalled. Nothing signals "no drain is coming",
 * so this is a quiet period, not a sleep: on a slow machine it can only end the loop early (a
 * weaker check), never fail it.
 */
const STALL_MS = 300
/** A paused reader's Conn may hold a high-water mark plus one network read or message, no more. */
const READER_HOLD_BOUND = 1 * MiB
const CONCURRENT_CONNS = 200
const ECHO_BYTES = 256 * KiB
/** Per-test ceilings: generous for a loaded 2-core CI machine; a healthy run takes a fraction. */
const SLOW = { timeout: 120_000 }
const FAST = { timeout: 20_000 }

/** A FIFO of accepted Conns that tests await one at a time. */
class Inbox {
  #items: Conn[] = []
  #waiters: Array<(c: Conn) => void> = []
  push(c: Conn): void {
    const w = this.#waiters.shift()
    if (w) w(c)
    else this.#items.push(c)
  }
  next(): Promise<Conn> {
    const c = this.#items.shift()
    return c ? Promise.resolve(c) : new Promise((resolve) => this.#waiters.push(resolve))
  }
}

interface Harness {
  setup: ComplianceSetup
  listener: Listener
  accept(): Promise<Conn>
  dial(address?: TransportAddress, signal?: AbortSignal): Promise<Conn>
  pair(): Promise<[client: Conn, server: Conn]>
}

async function start(t: TestContext, make: () => Promise<ComplianceSetup>): Promise<Harness> {
  const setup = await make()
  const open = new Set<Duplex>()
  const track = (c: Conn) => {
    open.add(c)
    c.on('error', () => undefined) // tests that care attach their own listener
    c.once('close', () => open.delete(c))
    return c
  }
  const inbox = new Inbox()
  const listener = await setup.transport.listen(
    setup.listenAddress,
    (c) => inbox.push(track(c)),
    setup.listenOptions,
  )
  t.after(async () => {
    for (const c of open) c.destroy()
    await listener.close()
    await setup.cleanup?.()
  })
  const dial = async (address = listener.address, signal?: AbortSignal) =>
    track(await setup.transport.dial(address, { ...setup.dialOptions, signal }))
  return {
    setup,
    listener,
    accept: () => inbox.next(),
    dial,
    pair: async () => {
      const client = await dial()
      return [client, await inbox.next()]
    },
  }
}

/** Resolves on 'drain'; rejects if the Conn errors or closes first. */
function drained(conn: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      conn.off('drain', onDrain).off('error', onError).off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onDrain = () => done()
    const onError = (err: Error) => done(err)
    const onClose = () => done(new Error('closed while waiting for drain'))
    conn.on('drain', onDrain).on('error', onError).on('close', onClose)
  })
}

/** True if 'drain' comes within `ms`, false if not (the timer is cleared either way). */
async function drainedWithin(conn: Duplex, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const quiet = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)))
  try {
    return await Promise.race([drained(conn).then(() => true as const), quiet])
  } finally {
    clearTimeout(timer)
  }
}

/** Writes `total` random bytes in CHUNK writes, honouring backpressure; returns their sha256. */
async function send(conn: Duplex, total: number, end = true): Promise<string> {
  const hash = createHash('sha256')
  for (let sent = 0; sent < total; sent += CHUNK) {
    const chunk = randomBytes(Math.min(CHUNK, total - sent))
    hash.update(chunk)
    if (!conn.write(chunk)) await drained(conn)
  }
  if (end) conn.end()
  return hash.digest('hex')
}

/** Reads to EOF; returns the byte count and sha256. Rejects on error or on close before EOF. */
function receive(conn: Duplex): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    let bytes = 0
    conn.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      bytes += chunk.length
    })
    conn.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }))
    conn.once('error', reject)
    conn.once('close', () => reject(new Error('closed before EOF')))
    conn.resume() // 'data' alone does not restart a Conn that was paused explicitly
  })
}

/** Resolves with the first 'error' (or undefined on 'close'): how a Conn learned its peer is gone. */
function outcome(conn: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    conn.once('error', resolve)
    conn.once('close', () => resolve(undefined))
  })
}

export function transportCompliance(name: string, make: () => Promise<ComplianceSetup>): void {
  describe(`${name} transport compliance`, () => {
    for (const direction of ['client to server', 'server to client'] as const) {
      test(`delivers 64 MiB in order, ${direction} (sha256)`, SLOW, async (t) => {
        const h = await start(t, make)
        const [client, server] = await h.pair()
        const [from, to] = direction === 'client to server' ? [client, server] : [server, client]
        const received = receive(to)
        const sha256 = await send(from, BULK_BYTES)
        assert.deepEqual(await received, { bytes: BULK_BYTES, sha256 })
      })
    }

    test(
      'half-close: the server reads to EOF, then replies, and the client gets all of it',
      FAST,
      async (t) => {
        const h = await start(t, make)
        const [client, server] = await h.pair()
        const serverDone = (async () => {
          const request = await receive(server)
          // Written only after EOF: the server's writable side must still be open.
          const reply = Buffer.from(`${request.bytes} ${request.sha256}`)
          server.end(Buffer.concat([reply, randomBytes(MiB - reply.length)]))
          return request
        })()
        const replyDone = (async () => {
          const chunks: Buffer[] = []
          client.on('data', (c: Buffer) => chunks.push(c))
          await receive(client)
          return Buffer.concat(chunks)
        })()
        const sha256 = await send(client, 3 * MiB + 17)
        const request = await serverDone
        assert.deepEqual(request, { bytes: 3 * MiB + 17, sha256 })
        const reply = await replyDone
        assert.equal(reply.length, MiB)
        assert.equal(reply.subarray(0, 72).toString(), `${3 * MiB + 17} ${sha256}`)
      },
    )

    test(
      `backpressure: a writer stalls within ${BACKPRESSURE_BOUND / MiB} MiB when the reader stops`,
      SLOW,
      async (t) => {
        const h = await start(t, make)
        const [client, server] = await h.pair()
        server.pause()
        const hash = createHash('sha256')
        let written = 0
        let firstFalse: number | undefined
        // The writer follows the contract: on false it waits for 'drain'. A transport whose reader
        // keeps reading into memory keeps draining, and the bound below fails the test.
        for (;;) {
          const chunk = randomBytes(CHUNK)
          hash.update(chunk)
          written += chunk.length
          const accepted = client.write(chunk)
          assert.ok(written <= BACKPRESSURE_BOUND, `still accepting writes after ${written} bytes`)
          if (accepted) {
            await new Promise(setImmediate) // let the reader's side run
            continue
          }
          firstFalse ??= written
          if (!(await drainedWithin(client, STALL_MS))) break
        }
        t.diagnostic(`${name}: write() first returned false after ${firstFalse} bytes`)
        t.diagnostic(`${name}: the writer stalled after ${written} bytes (${(written / MiB).toFixed(2)} MiB)`)
        t.diagnostic(`${name}: the paused reader held ${server.readableLength} bytes in its Conn`)
        assert.ok(
          server.readableLength <= READER_HOLD_BOUND,
          `the paused reader buffered ${server.readableLength} bytes`,
        )
        const received = receive(server) // resumes the reader
        await drained(client)
        client.end()
        assert.deepEqual(await received, { bytes: written, sha256: hash.digest('hex') })
      },
    )

    test('dial to an address nobody listens on rejects with TUN_ERR_CONNECT_REFUSED', FAST, async (t) => {
      const h = await start(t, make)
      const address = h.listener.address
      await h.listener.close()
      await assert.rejects(h.dial(address), (err) => isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'))
    })

    test(`${CONCURRENT_CONNS} concurrent connections each echo 256 KiB`, SLOW, async (t) => {
      const h = await start(t, make)
      const one = async () => {
        const client = await h.dial()
        const received = receive(client)
        const sha256 = await send(client, ECHO_BYTES)
        assert.deepEqual(await received, { bytes: ECHO_BYTES, sha256 })
      }
      const echo = async () => {
        for (let i = 0; i < CONCURRENT_CONNS; i++) {
          const conn = await h.accept()
          conn.pipe(conn)
        }
      }
      await Promise.all([echo(), ...Array.from({ length: CONCURRENT_CONNS }, one)])
    })

    for (const side of ['client', 'server'] as const) {
      test(`destroy() on the ${side} side ends the other side (error or close, no hang)`, FAST, async (t) => {
        const h = await start(t, make)
        const [client, server] = await h.pair()
        const [victim, survivor] = side === 'client' ? [client, server] : [server, client]
        victim.once('data', () => victim.destroy())
        survivor.resume() // a reader sees EOF: the way tcp reports a peer's destroy()
        const seen = outcome(survivor)
        let over = false
        void seen.then(() => (over = true))
        // The survivor keeps writing, as a real sender would, until it learns the peer is gone.
        while (!over && !survivor.destroyed && !survivor.writableEnded) {
          if (survivor.readableEnded) survivor.end()
          else if (!survivor.write(randomBytes(CHUNK))) {
            await Promise.race([drained(survivor).catch(() => undefined), seen])
          } else await new Promise(setImmediate)
        }
        const err = await seen
        t.diagnostic(
          `${name}: the ${side === 'client' ? 'server' : 'client'} saw ${err === undefined ? "'close'" : (err as { code?: string }).code}`,
        )
        if (err !== undefined) {
          assert.ok(
            isTunnelError(err, ...(h.setup.resetCodes ?? ['TUN_ERR_CONN_RESET', 'TUN_ERR_CONN_CLOSED'])),
            `unexpected error: ${err}`,
          )
        }
      })
    }

    test(
      'listener reports its real address; close() stops accepting and leaves open Conns alone',
      FAST,
      async (t) => {
        const h = await start(t, make)
        const asked = h.setup.listenAddress
        const got = h.listener.address
        assert.equal(got.kind, asked.kind)
        if ('port' in asked && 'port' in got) {
          assert.ok(got.port > 0 && got.port < 65536)
          if (asked.port !== 0) assert.equal(got.port, asked.port)
        }
        if ('path' in asked && 'path' in got) assert.equal(got.path, asked.path)
        const [client, server] = await h.pair()
        assert.equal(client.info.transport, asked.kind)
        assert.equal(server.info.transport, asked.kind)
        await h.listener.close()
        await h.listener.close() // idempotent
        await assert.rejects(h.dial(got), (err) => isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'))
        server.pipe(server)
        const received = receive(client)
        const sha256 = await send(client, 1 * MiB)
        assert.deepEqual(await received, { bytes: MiB, sha256 })
      },
    )

    test('an AbortSignal aborts a dial in flight and a pre-aborted one never starts', FAST, async (t) => {
      const h = await start(t, make)
      const ac = new AbortController()
      const pending = h.setup.transport.dial(h.listener.address, {
        ...h.setup.dialOptions,
        signal: ac.signal,
      })
      ac.abort(new Error('changed my mind'))
      await assert.rejects(pending, (err) => isTunnelError(err, 'TUN_ERR_ABORTED'))
      await assert.rejects(
        h.setup.transport.dial(h.listener.address, { ...h.setup.dialOptions, signal: AbortSignal.abort() }),
        (err) => isTunnelError(err, 'TUN_ERR_ABORTED'),
      )
      // A signal aborted after the dial resolved does not touch the Conn. Every accepted Conn
      // echoes: the aborted dials may have reached the listener before they were torn down.
      void (async () => {
        for (;;) {
          const c = await h.accept()
          c.pipe(c)
        }
      })()
      const late = new AbortController()
      const conn = await h.dial(h.listener.address, late.signal)
      late.abort()
      const received = receive(conn)
      conn.end('still here')
      assert.equal((await received).bytes, 10)
    })
  })
}
