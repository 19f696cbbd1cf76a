/**
 * Random bytes injected at any point of a link's byte stream (handshake or records), in either
 * direction, end in a coded error and a closed link on the receiving side: never an exception that
 * escapes, never a hang. A second link through its own clean path keeps working meanwhile.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import { generateIdentity } from '../../src/identity/keys.ts'
import { dial, listen, type Link } from '../../src/mux/link.ts'
import { rawServer } from '../helpers/sockets.ts'

const server = generateIdentity()
const client = generateIdentity()

/** A proxy that replaces the stream, from byte `at` of direction `dir`, with `junk`, then closes that direction. */
async function corruptingProxy(upstream: number, dir: 'up' | 'down', at: number, junk: Uint8Array) {
  return rawServer((inbound) => {
    const outbound = net.connect({ port: upstream, host: '127.0.0.1', allowHalfOpen: true })
    const wire = (from: net.Socket, to: net.Socket, corrupt: boolean) => {
      let seen = 0
      from.on('data', (d: Buffer) => {
        if (!corrupt || seen + d.length <= at) {
          seen += d.length
          if (!to.destroyed) to.write(d)
          return
        }
        if (seen < at) to.write(d.subarray(0, at - seen))
        seen = Number.POSITIVE_INFINITY
        if (!to.destroyed) to.end(junk)
        from.destroy()
      })
      from.on('end', () => !to.destroyed && to.end())
      from.on('error', () => to.destroy())
    }
    wire(inbound, outbound, dir === 'up')
    wire(outbound, inbound, dir === 'down')
    outbound.on('error', () => inbound.destroy())
    inbound.on('error', () => outbound.destroy())
  })
}

test(
  'random bytes at any point of a link end it with a coded error; other links keep working',
  { timeout: 120_000 },
  async () => {
    const listener = await listen('tcp:127.0.0.1:0', server, {
      handshakeTimeoutMs: 2000,
      keepaliveInterval: 200,
      keepaliveTimeout: 1000,
    })
    const accepted: Link[] = []
    listener.on('link', (link) => {
      accepted.push(link)
      link.on('stream', (s) => {
        s.on('error', () => {})
        s.pipe(s)
      })
    })
    listener.on('refused', () => {})
    const port = (listener.transportAddress as { port: number }).port
    const healthy = await dial(listener.address, client)

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('up' as const, 'down' as const),
        fc.integer({ min: 0, max: 600 }),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        async (dir, at, junk) => {
          const proxy = await corruptingProxy(port, dir, at, junk)
          let link: Link | undefined
          try {
            link = await dial(
              { transport: { kind: 'tcp', host: '127.0.0.1', port: proxy.port }, id: server.id },
              client,
              {
                handshakeTimeoutMs: 2000,
                keepaliveInterval: 200,
                keepaliveTimeout: 1000,
              },
            )
          } catch (err) {
            assert.match(String((err as { code?: string }).code), /^TUN_ERR_/, String(err))
          }
          if (link !== undefined) {
            // The handshake got through: traffic on the link must now end it with a coded error.
            const s = link.openStream('x')
            s.on('error', () => {})
            const closed = once(link, 'close')
            for (let i = 0; i < 20 && !link.closed; i++) {
              s.write(Buffer.alloc(64, i))
              await new Promise((r) => setImmediate(r))
            }
            const [err] = await closed
            if (err !== undefined)
              assert.match(String((err as { code?: string }).code), /^TUN_ERR_/, String(err))
          }
          await proxy.close()
          // The clean link still echoes.
          const probe = healthy.openStream('probe')
          const back = once(probe, 'data')
          probe.write('still fine')
          assert.equal(String((await back)[0]), 'still fine')
          const done = once(probe, 'close')
          probe.end()
          probe.resume()
          await done
        },
      ),
      { numRuns: 40 },
    )
    healthy.close()
    await listener.close()
  },
)
