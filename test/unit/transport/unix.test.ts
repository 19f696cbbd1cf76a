import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import type { Conn } from '../../../src/transport/types.ts'
import { UNIX_PATH_MAX, unix } from '../../../src/transport/unix.ts'
import { transportCompliance } from '../../compliance/transport.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-unix-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshPath = () => path.join(dir, `s${n++}.sock`)

transportCompliance('unix', async () => ({
  transport: unix,
  listenAddress: { kind: 'unix', path: freshPath() },
}))

/** Echoes one message on `conn` and checks it comes back. */
async function roundTrip(p: string): Promise<void> {
  const conn = await unix.dial({ kind: 'unix', path: p })
  conn.end('ping')
  const [data] = await once(conn, 'data')
  assert.equal(String(data), 'ping')
  conn.destroy()
}

const echo = (c: Conn) => c.pipe(c)

test(
  'a stale socket file (its process died) is removed and the listen succeeds',
  { timeout: 20_000 },
  async () => {
    const p = freshPath()
    // A child binds the path and is SIGKILLed: the socket file stays, with nothing accepting on it.
    const child = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(process.argv[1], () => console.log('ready'))`, p],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    await once(child.stdout, 'data')
    child.kill('SIGKILL')
    await once(child, 'exit')
    assert.ok(lstatSync(p).isSocket(), 'the killed child left its socket file behind')
    await assert.rejects(unix.dial({ kind: 'unix', path: p }), (err) =>
      isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'),
    )
    const listener = await unix.listen({ kind: 'unix', path: p }, echo)
    try {
      await roundTrip(p)
    } finally {
      await listener.close()
    }
  },
)

test('a live socket gives TUN_ERR_ADDRESS_IN_USE and keeps working', { timeout: 10_000 }, async () => {
  const p = freshPath()
  const live = await unix.listen({ kind: 'unix', path: p }, echo)
  try {
    await assert.rejects(unix.listen({ kind: 'unix', path: p }, echo), (err) => {
      assert.ok(isTunnelError(err, 'TUN_ERR_ADDRESS_IN_USE'))
      assert.match(err.message, /another listener is accepting connections/)
      return true
    })
    await roundTrip(p)
  } finally {
    await live.close()
  }
})

test('a path that is not a socket is never removed', { timeout: 10_000 }, async () => {
  const p = freshPath()
  writeFileSync(p, 'precious')
  await assert.rejects(unix.listen({ kind: 'unix', path: p }, echo), (err) => {
    assert.ok(isTunnelError(err, 'TUN_ERR_ADDRESS_IN_USE'))
    assert.match(err.message, /not a socket/)
    return true
  })
  assert.ok(lstatSync(p).isFile())
})

test('close() removes the socket file; a later listen on the path works', { timeout: 10_000 }, async () => {
  const p = freshPath()
  const first = await unix.listen({ kind: 'unix', path: p }, echo)
  assert.ok(lstatSync(p).isSocket())
  await first.close()
  assert.equal(existsSync(p), false)
  const second = await unix.listen({ kind: 'unix', path: p }, echo)
  await roundTrip(p)
  await second.close()
  assert.equal(existsSync(p), false)
})

test(
  'dialing a missing path is TUN_ERR_CONNECT_REFUSED with a clear message',
  { timeout: 10_000 },
  async () => {
    const p = freshPath()
    await assert.rejects(unix.dial({ kind: 'unix', path: p }), (err) => {
      assert.ok(isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'))
      assert.equal(err.message, `connect to unix ${p} refused: no socket file there, nothing is listening`)
      return true
    })
  },
)

test(`paths over ${UNIX_PATH_MAX} bytes are refused up front (the kernel would truncate them)`, async () => {
  const long = path.join(dir, 'x'.repeat(UNIX_PATH_MAX))
  await assert.rejects(unix.listen({ kind: 'unix', path: long }, echo), (err) =>
    isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
  await assert.rejects(unix.dial({ kind: 'unix', path: long }), (err) =>
    isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
  assert.equal(existsSync(long), false)
})

test('ConnInfo names the socket path on both ends', { timeout: 10_000 }, async () => {
  const p = freshPath()
  let onAccept!: (c: Conn) => void
  const accepted = new Promise<Conn>((resolve) => (onAccept = resolve))
  const listener = await unix.listen({ kind: 'unix', path: p }, (c) => onAccept(c))
  const conn = await unix.dial(listener.address)
  const peer = await accepted
  try {
    assert.deepEqual(conn.info, { transport: 'unix', remote: p, local: '(unnamed)' })
    assert.deepEqual(peer.info, { transport: 'unix', remote: '(unnamed)', local: p })
  } finally {
    conn.destroy()
    peer.destroy()
    await listener.close()
  }
})
