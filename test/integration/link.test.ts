import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { dial, linkOver, acceptLinkOver, listen, type Link } from '../../src/mux/link.ts'
import type { MuxStream } from '../../src/mux/stream.ts'
import { streamAsConn } from '../helpers/link-transport.ts'
import { testCert } from '../helpers/tls.ts'

const server = generateIdentity()
const client = generateIdentity()
const dir = mkdtempSync(path.join(tmpdir(), 'burrow-link-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function echoStreams(link: Link): void {
  link.on('stream', (s: MuxStream) => {
    s.on('error', () => {})
    s.pipe(s)
  })
}

async function roundTrip(link: Link, header: string, body: string): Promise<string> {
  const stream = link.openStream(header)
  const chunks: Buffer[] = []
  stream.on('data', (d: Buffer) => chunks.push(d))
  stream.end(body)
  await once(stream, 'end')
  return Buffer.concat(chunks).toString()
}

test('dial by address string (IK): both ends know each other, headers and bytes flow', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  const headers: string[] = []
  listener.on('link', (link) => {
    assert.equal(link.remoteId, client.id)
    link.on('stream', (s) => {
      headers.push(Buffer.from(s.header).toString())
      s.pipe(s)
    })
  })
  const address = listener.toString()
  assert.match(address, new RegExp(`^tcp:127\\.0\\.0\\.1:\\d+~noise:${server.id}$`))
  const link = await dial(address, client)
  assert.equal(link.remoteId, server.id)
  assert.equal(await roundTrip(link, 'target one', 'hello'), 'hello')
  assert.deepEqual(headers, ['target one'])
  assert.ok(typeof (await link.ping()) === 'number')
  assert.ok(link.rtt !== undefined && link.rtt >= 0)
  link.close()
  await listener.close()
})

test('dial without an id (XX) learns the remote id', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  listener.on('link', echoStreams)
  const { port } = listener.transportAddress as { port: number }
  const link = await dial(`tcp:127.0.0.1:${port}`, client)
  assert.equal(link.remoteId, server.id)
  assert.equal(await roundTrip(link, '', 'xx'), 'xx')
  link.close()
  await listener.close()
})

test('links run over unix, ws and wss too', async () => {
  const { cert, key } = await testCert()
  const cases = [
    { listen: `unix:${path.join(dir, 'l.sock')}`, transport: {} },
    { listen: 'ws://127.0.0.1:0/burrow', transport: {} },
    { listen: 'wss://localhost:0/burrow', transport: { ca: cert }, listenTransport: { cert, key } },
  ]
  for (const c of cases) {
    const listener = await listen(c.listen, server, { transport: c.listenTransport })
    listener.on('link', echoStreams)
    const link = await dial(listener.address, client, { transport: c.transport })
    assert.equal(await roundTrip(link, 'h', `over ${c.listen}`), `over ${c.listen}`)
    link.close()
    await listener.close()
  }
})

test('a listener that refuses the peer: dial rejects with TUN_ERR_UNAUTHORIZED and the reason', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server, {
    authorize: (peer) =>
      peer.id === 'nobody' ? true : `id ${peer.id.slice(0, 8)}… is not on the allow list`,
  })
  const refused = once(listener, 'refused')
  await assert.rejects(dial(listener.address, client), (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'TUN_ERR_UNAUTHORIZED')
    assert.match(err.message, /is not on the allow list/)
    return true
  })
  const [err] = await refused
  assert.equal((err as { code: string }).code, 'TUN_ERR_UNAUTHORIZED')
  assert.equal(listener.links.size, 0)
  await listener.close()
})

test('an async authorize admits by payload', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server, {
    authorize: async (peer) => (Buffer.from(peer.payload).toString() === 'open sesame' ? true : 'wrong word'),
  })
  listener.on('link', echoStreams)
  const good = await dial(listener.address, client, { payload: Buffer.from('open sesame') })
  assert.equal(await roundTrip(good, '', 'in'), 'in')
  await assert.rejects(dial(listener.address, client, { payload: Buffer.from('please') }), {
    code: 'TUN_ERR_UNAUTHORIZED',
  })
  good.close()
  await listener.close()
})

test('an address naming another node fails with TUN_ERR_REMOTE_KEY_MISMATCH', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  const other = generateIdentity()
  await assert.rejects(dial({ transport: listener.transportAddress, id: other.id }, client), {
    code: 'TUN_ERR_REMOTE_KEY_MISMATCH',
  })
  await listener.close()
})

test('alternatives are tried in order: a dead first alternative falls through to the second', async () => {
  const dead = await listen('tcp:127.0.0.1:0', server)
  const deadPort = (dead.transportAddress as { port: number }).port
  await dead.close()
  const listener = await listen('tcp:127.0.0.1:0', server)
  listener.on('link', echoStreams)
  const address = `tcp:127.0.0.1:${deadPort}~noise:${server.id};${listener.toString()}`
  const link = await dial(address, client)
  assert.equal(await roundTrip(link, '', 'second'), 'second')
  link.close()
  await listener.close()
  await assert.rejects(dial(`tcp:127.0.0.1:${deadPort}~noise:${server.id}`, client), {
    code: 'TUN_ERR_CONNECT_REFUSED',
  })
})

test('datagrams travel both ways on a link', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  listener.on('link', (link) =>
    link.on('datagram', (channel, payload) => link.sendDatagram(channel + 1, payload)),
  )
  const link = await dial(listener.address, client)
  const got = once(link, 'datagram')
  assert.ok(link.sendDatagram(7, Buffer.from('dgram')))
  const [channel, payload] = await got
  assert.equal(channel, 8)
  assert.equal(Buffer.from(payload as Uint8Array).toString(), 'dgram')
  link.close()
  await listener.close()
})

test('a link nested in a stream of another link (the relayed end-to-end shape)', async () => {
  // outer: client <-> relay; the relay accepts an inner link on the stream and echoes on it.
  const relay = generateIdentity()
  const listener = await listen('tcp:127.0.0.1:0', relay)
  listener.on('link', (outer) =>
    outer.on('stream', (s) => {
      acceptLinkOver(streamAsConn(s, outer), server).then(echoStreams, () => {})
    }),
  )
  const outer = await dial(listener.address, client)
  const inner = await linkOver(streamAsConn(outer.openStream('to server'), outer), client, {
    remoteId: server.id,
  })
  assert.equal(inner.remoteId, server.id)
  assert.equal(await roundTrip(inner, 'inner', 'nested'), 'nested')
  inner.close()
  outer.close()
  await listener.close()
})

test('listener.close() closes its links; their streams end with a coded error', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  listener.on('link', (link) => link.on('stream', (s) => s.on('error', () => {})))
  const link = await dial(listener.address, client)
  const stream = link.openStream('held open')
  stream.write('x')
  while (listener.links.size === 0) await new Promise((r) => setImmediate(r))
  const closed = once(link, 'close')
  const streamError = new Promise<Error>((resolve) => stream.once('error', resolve))
  await listener.close()
  await closed
  assert.match(String(((await streamError) as { code?: string }).code), /^TUN_ERR_/)
})

test('an aborted dial rejects with TUN_ERR_ABORTED', async () => {
  const listener = await listen('tcp:127.0.0.1:0', server)
  await assert.rejects(dial(listener.address, client, { signal: AbortSignal.abort() }), {
    code: 'TUN_ERR_ABORTED',
  })
  await listener.close()
})
