import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { test } from 'node:test'
import fc from 'fast-check'
import { generateIdentity } from '../../../src/identity/keys.ts'
import { secureInbound, secureOutbound } from '../../../src/secure/connect.ts'
import { HandshakeGate } from '../../../src/secure/gate.ts'
import type { SecureConn } from '../../../src/secure/types.ts'
import { encodePreamble } from '../../../src/secure/wire.ts'
import { asConn, connectRaw, rawServer, tcpPair } from '../../helpers/sockets.ts'

const alice = generateIdentity()
const bob = generateIdentity()

async function securePair(pattern: 'XX' | 'IK', extra: { rekey?: { records: number } } = {}) {
  const [a, b, close] = await tcpPair()
  const [client, server] = await Promise.all([
    secureOutbound(a, alice, {
      remoteId: pattern === 'IK' ? bob.id : undefined,
      payload: Buffer.from('from alice'),
      ...extra,
    }),
    secureInbound(b, bob, { payload: Buffer.from('from bob'), ...extra }),
  ])
  return { client, server, close }
}

// Event-based readers: `for await` would destroy the stream at its end, cutting the other
// direction before it finishes.
function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

function hashOf(stream: Duplex): Promise<{ hex: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    let bytes = 0
    stream.on('data', (chunk: Buffer) => {
      h.update(chunk)
      bytes += chunk.length
    })
    stream.once('end', () => resolve({ hex: h.digest('hex'), bytes }))
    stream.once('error', reject)
  })
}

async function writeAll(stream: Duplex, total: number, chunkSize: number): Promise<string> {
  const h = createHash('sha256')
  const chunk = randomBytes(chunkSize)
  for (let sent = 0; sent < total; sent += chunkSize) {
    chunk.writeUInt32BE(sent >>> 0, 0)
    h.update(chunk)
    if (!stream.write(Buffer.from(chunk))) await once(stream, 'drain')
  }
  stream.end()
  return h.digest('hex')
}

for (const pattern of ['XX', 'IK'] as const) {
  test(`${pattern}: both sides prove their ids, exchange payloads and agree on the handshake hash`, async () => {
    const { client, server, close } = await securePair(pattern)
    assert.equal(client.remoteId, bob.id)
    assert.equal(server.remoteId, alice.id)
    assert.equal(client.pattern, pattern)
    assert.equal(Buffer.from(client.remotePayload).toString(), 'from bob')
    assert.equal(Buffer.from(server.remotePayload).toString(), 'from alice')
    assert.deepEqual(client.handshakeHash, server.handshakeHash)
    client.end('ping')
    assert.equal((await readAll(server)).toString(), 'ping')
    server.end()
    await readAll(client)
    await close()
  })

  test(`${pattern}: 64 MiB each way at once arrives intact (sha256)`, async () => {
    const { client, server, close } = await securePair(pattern)
    const total = 64 * 1024 * 1024
    const [sentA, sentB, gotB, gotA] = await Promise.all([
      writeAll(client, total, 65536),
      writeAll(server, total, 100_000),
      hashOf(server),
      hashOf(client),
    ])
    assert.equal(gotB.bytes, total)
    assert.equal(gotA.bytes, Math.ceil(total / 100_000) * 100_000)
    assert.equal(gotB.hex, sentA)
    assert.equal(gotA.hex, sentB)
    await close()
  })
}

test('writes made in the same tick are coalesced into one record', async () => {
  const { client, server, close } = await securePair('IK')
  await new Promise((r) => setImmediate(r))
  const before = client.records.sent
  for (let i = 0; i < 100; i++) client.write(Buffer.from(`msg ${i};`))
  const expected = Array.from({ length: 100 }, (_, i) => `msg ${i};`).join('')
  let got = ''
  server.setEncoding('utf8')
  while (got.length < expected.length) got += (await once(server, 'data'))[0]
  assert.equal(got, expected)
  assert.equal(client.records.sent - before, 1)
  server.destroy()
  client.destroy()
  await close()
})

test('writeClear and writeDirect interleave in order; clear bytes cross the wire as they are', async () => {
  const [a, b, close] = await tcpPair()
  const seen: Buffer[] = []
  a.on('data', () => {})
  const orig = a.write.bind(a)
  a.write = ((chunk: Buffer, ...rest: never[]) => {
    seen.push(Buffer.from(chunk))
    return orig(chunk, ...rest)
  }) as typeof a.write
  const [client, server] = await Promise.all([
    secureOutbound(a, alice, { remoteId: bob.id }),
    secureInbound(b, bob),
  ])
  const got = readAll(server)
  client.writeDirect(Buffer.from('secret-1|'))
  client.writeClear(Buffer.from('public-2|'))
  client.writeDirect(Buffer.from('secret-3|'))
  const big = randomBytes(200_000)
  client.writeClear(big)
  client.end()
  const all = await got
  assert.equal(all.subarray(0, 27).toString(), 'secret-1|public-2|secret-3|')
  assert.deepEqual(all.subarray(27), big)
  const wire = Buffer.concat(seen)
  assert.ok(wire.includes(Buffer.from('public-2|')), 'the clear bytes are on the wire as they are')
  assert.ok(
    !wire.includes(Buffer.from('secret-1|')) && !wire.includes(Buffer.from('secret-3|')),
    'encrypted bytes are not',
  )
  server.end()
  await readAll(client)
  await close()
})

test('rekeying mid-stream keeps the stream intact on both ends', async () => {
  const { client, server, close } = await securePair('XX', { rekey: { records: 7 } })
  const total = 4 * 1024 * 1024
  const [sent, got] = await Promise.all([writeAll(client, total, 10_000), hashOf(server)])
  assert.equal(got.hex, sent)
  assert.ok(client.records.sent > 7 * 5)
  server.end()
  await readAll(client)
  await close()
})

test('half-close: the client ends its side and still receives the whole reply', async () => {
  const { client, server, close } = await securePair('IK')
  const request = await Promise.all([readAll(server), Promise.resolve(client.end(Buffer.alloc(100_000, 7)))])
  assert.equal(request[0].length, 100_000)
  const reply = randomBytes(3_000_000)
  server.end(reply)
  assert.deepEqual(await readAll(client), reply)
  await close()
})

test('IK to a node that does not hold the expected key fails with TUN_ERR_REMOTE_KEY_MISMATCH', async () => {
  const [a, b, close] = await tcpPair()
  const mallory = generateIdentity()
  const results = await Promise.allSettled([
    secureOutbound(a, alice, { remoteId: bob.id }),
    secureInbound(b, mallory),
  ])
  assert.equal(results[0].status, 'rejected')
  assert.equal((results[0] as PromiseRejectedResult).reason.code, 'TUN_ERR_REMOTE_KEY_MISMATCH')
  assert.equal((results[1] as PromiseRejectedResult).reason.code, 'TUN_ERR_HANDSHAKE_FAILED')
  await close()
})

test('XX with an expected id fails when another node answers, before the client reveals its identity', async () => {
  const [a, b, close] = await tcpPair()
  const mallory = generateIdentity()
  const results = await Promise.allSettled([
    secureOutbound(a, alice, { remoteId: bob.id, pattern: 'XX' }),
    secureInbound(b, mallory),
  ])
  assert.equal((results[0] as PromiseRejectedResult).reason.code, 'TUN_ERR_REMOTE_KEY_MISMATCH')
  assert.equal(results[1].status, 'rejected')
  await close()
})

test('a responder that never answers gives TUN_ERR_HANDSHAKE_TIMEOUT and a destroyed conn', async () => {
  const server = await rawServer(() => {})
  const conn = asConn(await connectRaw(server.port))
  await assert.rejects(secureOutbound(conn, alice, { remoteId: bob.id, handshakeTimeoutMs: 200 }), {
    code: 'TUN_ERR_HANDSHAKE_TIMEOUT',
  })
  assert.ok(conn.destroyed)
  await server.close()
})

test('the pending-handshake cap refuses extra connections with a REJECT the dialer understands', async () => {
  const gate = new HandshakeGate(2)
  const inbound: Promise<SecureConn>[] = []
  const server = await rawServer((socket) => {
    const p = secureInbound(asConn(socket), bob, { gate, handshakeTimeoutMs: 2000 })
    p.catch(() => {})
    inbound.push(p)
  })
  // Two silent connections hold both slots.
  const silent = [await connectRaw(server.port), await connectRaw(server.port)]
  while (gate.pending < 2) await new Promise((r) => setImmediate(r))
  const third = asConn(await connectRaw(server.port))
  await assert.rejects(secureOutbound(third, alice, { remoteId: bob.id }), {
    code: 'TUN_ERR_TOO_MANY_HANDSHAKES',
  })
  await assert.rejects(inbound[2] as Promise<SecureConn>, { code: 'TUN_ERR_TOO_MANY_HANDSHAKES' })
  for (const s of silent) s.destroy()
  await Promise.allSettled(inbound)
  assert.equal(gate.pending, 0)
  await server.close()
})

test('the per-source cap: one address cannot hold every handshake slot; another address still gets in', async () => {
  const gate = new HandshakeGate(10, 2)
  const inbound: Promise<SecureConn>[] = []
  const server = await rawServer((socket) => {
    const p = secureInbound(asConn(socket), bob, { gate, handshakeTimeoutMs: 2000 })
    p.catch(() => {})
    inbound.push(p)
  })
  const from = (localAddress: string) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: server.port, host: '127.0.0.1', localAddress }, () => resolve(s))
      s.once('error', reject)
    })
  const silent = [await from('127.0.0.1'), await from('127.0.0.1')]
  while (gate.pending < 2) await new Promise((r) => setImmediate(r))
  await assert.rejects(secureOutbound(asConn(await from('127.0.0.1')), alice, { remoteId: bob.id }), {
    code: 'TUN_ERR_TOO_MANY_HANDSHAKES',
  })
  // Another loopback address is another source: it completes.
  const other = await secureOutbound(asConn(await from('127.0.0.2')), alice, { remoteId: bob.id })
  assert.equal(other.remoteId, bob.id)
  for (const s of silent) s.destroy()
  for (const r of await Promise.allSettled(inbound)) {
    if (r.status === 'fulfilled') r.value.destroy()
  }
  other.destroy()
  assert.equal(gate.pending, 0)
  await server.close()
})

test('a preamble with another protocol version is refused on both ends with TUN_ERR_VERSION_MISMATCH', async () => {
  let inbound: Promise<SecureConn> | undefined
  const server = await rawServer((socket) => {
    inbound = secureInbound(asConn(socket), bob)
    inbound.catch(() => {})
  })
  const raw = await connectRaw(server.port)
  raw.write(encodePreamble(9, 'IK'))
  const [reply] = await once(raw, 'data')
  assert.equal((reply as Buffer)[2], 0x02, 'a REJECT frame')
  assert.match((reply as Buffer).subarray(4).toString(), /version 1/)
  await assert.rejects(inbound as Promise<SecureConn>, { code: 'TUN_ERR_VERSION_MISMATCH' })
  raw.destroy()
  await server.close()
})

test('a non-burrow client (an HTTP request) is refused without a reply', async () => {
  let inbound: Promise<SecureConn> | undefined
  const server = await rawServer((socket) => {
    inbound = secureInbound(asConn(socket), bob)
    inbound.catch(() => {})
  })
  const raw = await connectRaw(server.port)
  raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const received: Buffer[] = []
  raw.on('data', (d: Buffer) => received.push(d))
  await assert.rejects(inbound as Promise<SecureConn>, { code: 'TUN_ERR_HANDSHAKE_FAILED' })
  await once(raw, 'end')
  assert.equal(Buffer.concat(received).length, 0)
  raw.destroy()
  await server.close()
})

test('a connection cut after the handshake (no end-of-data record) is TUN_ERR_TRUNCATED', async () => {
  const [a, b, close] = await tcpPair()
  const [client, server] = await Promise.all([
    secureOutbound(a, alice, { remoteId: bob.id }),
    secureInbound(b, bob),
  ])
  client.write('partial')
  await once(server, 'data')
  a.end() // the transport ends under the secure channel, without its end-of-data record
  const [err] = await once(server, 'error')
  assert.equal((err as { code: string }).code, 'TUN_ERR_TRUNCATED')
  client.destroy()
  await close()
})

test('a bit flipped in transit is detected (TUN_ERR_DECRYPT) and the channel closes', async () => {
  // A proxy that flips one bit of the 2nd record's body, between a client and a server.
  let flipped = false
  let seen = 0
  const back = await rawServer((socket) => {
    secureInbound(asConn(socket), bob).then(
      (server) => {
        server.on('data', () => {})
        server.on('error', (err) => serverError(err))
      },
      () => {},
    )
  })
  let serverError: (err: Error) => void = () => {}
  const serverFailed = new Promise<Error>((resolve) => (serverError = resolve))
  const front = await rawServer((inbound) => {
    connectRaw(back.port).then((outbound) => {
      inbound.on('data', (d: Buffer) => {
        seen += d.length
        if (!flipped && seen > 400) {
          const copy = Buffer.from(d)
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x10
          flipped = true
          outbound.write(copy)
        } else outbound.write(d)
      })
      outbound.pipe(inbound)
      inbound.on('error', () => {})
      outbound.on('error', () => {})
    })
  })
  const client = await secureOutbound(asConn(await connectRaw(front.port)), alice, { remoteId: bob.id })
  client.on('error', () => {})
  for (let i = 0; i < 20; i++) {
    client.write(randomBytes(100))
    await new Promise((r) => setImmediate(r))
  }
  const err = await serverFailed
  assert.equal((err as { code?: string }).code, 'TUN_ERR_DECRYPT')
  client.destroy()
  await front.close()
  await back.close()
})

test('random bytes at any point of the handshake give a coded error and a closed conn', async () => {
  const server = await rawServer(() => {})
  await server.close()
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 }),
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      async (stage, junk) => {
        const [a, b, close] = await tcpPair()
        const inbound = secureInbound(b, bob, { handshakeTimeoutMs: 1000 })
        inbound.catch(() => {})
        if (stage === 0) a.write(junk)
        else {
          // A valid preamble (and for stage 2 a length header), then junk.
          a.write(
            Buffer.concat([
              encodePreamble(1, 'XX'),
              stage === 2 ? Buffer.from([0, junk.length + 1, 1]) : Buffer.alloc(0),
              junk,
            ]),
          )
        }
        a.end()
        await assert.rejects(inbound, (err: { code?: string }) => /^TUN_ERR_/.test(err.code ?? ''))
        if (!b.destroyed) await once(b, 'close')
        a.destroy()
        await close()
      },
    ),
    { numRuns: 30 },
  )
})
