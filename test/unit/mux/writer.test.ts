/** LinkWriter: corks a tick's frames into one flush, honours write() === false, serves waiting streams round-robin. */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { test } from 'node:test'
import { LinkWriter, type WriteTurn } from '../../../src/mux/writer.ts'

/** A conn that records what reaches it and completes each write on a later turn (like a busy socket). */
function recordingConn(highWaterMark: number): { conn: Duplex; writes: Buffer[][] } {
  const writes: Buffer[][] = []
  const conn = new Duplex({
    highWaterMark,
    read() {},
    write(chunk: Buffer, _e, cb) {
      writes.push([chunk])
      setImmediate(cb)
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => c.chunk as Buffer))
      setImmediate(cb)
    },
  })
  return { conn, writes }
}

test('frames written in one tick reach the conn in one writev', async () => {
  const { conn, writes } = recordingConn(1 << 20)
  const w = new LinkWriter(conn)
  w.write(Buffer.from('head'))
  w.write(Buffer.from('body'))
  w.write(Buffer.from('next'))
  assert.equal(writes.length, 0, 'corked until the next tick')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(
    writes.map((ws) => ws.map(String)),
    [['head', 'body', 'next']],
  )
  assert.equal(w.bytesSent, 12)
})

test('congested on write() === false; queued streams get one frame each per drain, in turn', async () => {
  const { conn } = recordingConn(4)
  const w = new LinkWriter(conn)
  conn.on('drain', () => w.onDrain())
  const order: string[] = []
  const turn = (name: string, frames: number): WriteTurn => {
    let left = frames
    const t: WriteTurn = {
      nextWriter: null,
      queued: false,
      serveTurn() {
        order.push(name)
        w.write(Buffer.from(`${name}${left}`)) // 2+ bytes: over the 4-byte mark with what is queued
        left--
        if (left > 0) w.enqueue(t)
      },
    }
    return t
  }
  w.write(Buffer.alloc(8))
  assert.equal(w.congested, true)
  const [a, b, c] = [turn('a', 3), turn('b', 1), turn('c', 2)]
  for (const t of [a, b, c, a]) w.enqueue(t) // enqueueing twice is a no-op
  while (order.length < 6) await once(conn, 'drain')
  assert.deepEqual(order, ['a', 'b', 'c', 'a', 'c', 'a'])
})

test('control frames are refused past controlLimit; nothing is written after close()', () => {
  const { conn } = recordingConn(16)
  const w = new LinkWriter(conn)
  w.controlLimit = 32
  assert.equal(w.writeControl(Buffer.alloc(40)), true)
  assert.equal(w.writeControl(Buffer.alloc(1)), false, 'backlog 40 > 32')
  w.close()
  w.write(Buffer.alloc(5))
  assert.equal(w.bytesSent, 40)
  conn.destroy()
})
