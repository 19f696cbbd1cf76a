/**
 * The relay never sees plaintext. A random 32-byte marker goes through a relayed tunnel in several
 * chunkings (whole, byte by byte, cut at random offsets, repeated inside a larger stream), arrives
 * at the target intact, and never shows up where the relay path could see it:
 *
 * 1. on the wire of both hops: a recording proxy sits in front of the relay for the server peer's
 *    hop and another for the client's (each peer dials the proxy's port with the relay's id);
 * 2. inside the relay, after it has decrypted the hop links: the wire capture alone only proves
 *    the hop encryption (the relay holds those keys), so a second test runs the relay in this
 *    process, with the same peers as CLI processes, and records every byte of every splice it
 *    forwards (observers on its streams; its behaviour is unchanged).
 *
 * Neither view may hold the marker, nor its hex or base64 form; each must hold at least as many
 * bytes as the payload, so the check is not vacuous.
 */
import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import type { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import type { MuxStream } from '../../src/mux/stream.ts'
import { startRelay as startLibraryRelay, type Relay } from '../../src/relay/server.ts'
import {
  makeClientKey,
  runConnect,
  startOpen,
  startRelay,
  startServe,
  tempDir,
  type ClientKey,
  type OpenDaemon,
} from '../helpers/burrow-procs.ts'
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.ts'

/** Bounds each test, whatever hangs. */
const TEST_TIMEOUT_MS = 60_000
const MARKER = randomBytes(32)
/** Forms a careless implementation might leak: raw, hex (both cases), base64 and base64url. */
const FORMS = [
  MARKER,
  MARKER.toString('hex'),
  MARKER.toString('hex').toUpperCase(),
  MARKER.toString('base64'),
  MARKER.toString('base64url'),
]
/** The larger stream: this much random filler with the marker inserted REPEATS times. */
const FILLER_BYTES = 2 * 1024 * 1024
const REPEATS = 500
/** Chunk size when writing the larger stream (markers get cut at chunk boundaries too). */
const WRITE_CHUNK = 61 * 1024

const dir = tempDir('relay-blind')
let client: ClientKey
let target: RecordingEcho

before(async () => {
  ;[client, target] = await Promise.all([makeClientKey(dir), startRecordingEcho()])
})
after(() => target?.close())

test('neither hop to the relay carries the marker in any form', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const relay = await startRelay()
  t.after(() => relay.stop())
  const upstream = { host: '127.0.0.1' as const, port: relay.port }
  const [serverHop, clientHop] = await Promise.all([
    startRecordingProxy(upstream),
    startRecordingProxy(upstream),
  ])
  t.after(() => Promise.all([serverHop.close(), clientHop.close()]))
  const serve = await startServe({
    relay: `tcp:127.0.0.1:${serverHop.port}~noise:${relay.id}`,
    exposeTcp: `127.0.0.1:${target.port}`,
    allowClients: [client.id],
  })
  t.after(() => serve.stop())
  const server = `tcp:127.0.0.1:${clientHop.port}~noise:${relay.id}~tunnel:${serve.id}`
  const open = await startOpen({ server, key: client.key })
  t.after(() => open.stop())

  const payload = await sendMarkerEveryWay(open, server)

  for (const [name, proxy] of [
    ['server hop', serverHop],
    ['client hop', clientHop],
  ] as const) {
    const { up, down } = proxy.captured()
    t.diagnostic(`${name}: ${proxy.connections} connections, ${up.length} bytes up, ${down.length} down`)
    assert.ok(proxy.connections >= 1, `${name}: no connection went through the proxy`)
    // Both directions carried the echoed payload, encrypted: at least as many bytes as it.
    assert.ok(
      up.length >= payload && down.length >= payload,
      `${name}: captured ${up.length} up, ${down.length} down`,
    )
    assertNoMarker(name, proxy)
  }
})

test(
  "the relay's own view, after it decrypts the hop links, never holds the marker",
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const relay = await startLibraryRelay({ identity: generateIdentity(), listen: ['tcp:127.0.0.1:0'] })
    t.after(() => relay.close())
    const view = recordSplices(relay)
    const serve = await startServe({
      relay: relay.address('device'),
      exposeTcp: `127.0.0.1:${target.port}`,
      allowClients: [client.id],
    })
    t.after(() => serve.stop())
    const open = await startOpen({ server: serve.address, key: client.key })
    t.after(() => open.stop())

    const payload = await sendMarkerEveryWay(open, serve.address)

    const seen = view()
    t.diagnostic(`relay splices: ${seen.up.length} bytes up, ${seen.down.length} down`)
    assert.ok(
      seen.up.length >= payload && seen.down.length >= payload,
      `spliced ${seen.up.length} up, ${seen.down.length} down`,
    )
    assertNoMarker('relay view', { contains: (m) => seen.up.includes(m) || seen.down.includes(m) })
  },
)

function assertNoMarker(name: string, view: Pick<RecordingProxy, 'contains'>): void {
  for (const form of FORMS) {
    const shown = typeof form === 'string' ? form : form.toString('hex')
    assert.ok(!view.contains(form), `${name}: the capture contains the marker (${shown})`)
  }
}

/**
 * Sends the marker through `burrow open` in every chunking, one connection each, plus once through
 * `burrow connect --stdio` (its own session), and checks that the target received exactly what was
 * sent and the client got it echoed back. Returns the payload's total size.
 */
async function sendMarkerEveryWay(open: OpenDaemon, server: string): Promise<number> {
  const cut = (at: number[]): Buffer[] =>
    [0, ...at, MARKER.length].slice(1).map((end, i, ends) => MARKER.subarray(i === 0 ? 0 : ends[i - 1], end))
  const randomCuts = (): number[] => {
    const at = new Set<number>()
    while (at.size < 3) at.add(randomInt(1, MARKER.length))
    return [...at].sort((a, b) => a - b)
  }
  const scenarios: Array<{ name: string; chunks: Buffer[] }> = [
    { name: 'whole', chunks: [MARKER] },
    { name: 'byte by byte', chunks: [...MARKER].map((b) => Buffer.of(b)) },
    ...Array.from({ length: 4 }, (_, i) => ({ name: `random cuts ${i + 1}`, chunks: cut(randomCuts()) })),
    { name: 'repeated in a larger stream', chunks: chunked(largerStream(), WRITE_CHUNK) },
  ]
  let total = 0
  for (const { name, chunks } of scenarios) {
    const sent = Buffer.concat(chunks)
    const { echoed, received } = await throughOpen(open.port, chunks)
    assert.ok(echoed.equals(sent), `${name}: the echo differs from what was sent`)
    assert.ok(received.equals(sent), `${name}: the target received other bytes than were sent`)
    total += sent.length
  }
  const accepted = target.nextConnection()
  const viaConnect = await runConnect(server, client.key, { input: MARKER })
  assert.equal(viaConnect.code, 0, viaConnect.stderr)
  assert.ok(viaConnect.stdout.equals(MARKER), 'connect: the echo differs from the marker')
  assert.ok((await (await accepted).done).equals(MARKER), 'connect: the target did not get the marker')
  return total + MARKER.length
}

/** FILLER_BYTES of random bytes with the marker at REPEATS random places. */
function largerStream(): Buffer {
  const filler = randomBytes(FILLER_BYTES)
  const at = Array.from({ length: REPEATS }, () => randomInt(0, FILLER_BYTES)).sort((a, b) => a - b)
  const parts: Buffer[] = []
  let from = 0
  for (const i of at) {
    parts.push(filler.subarray(from, i), MARKER)
    from = i
  }
  parts.push(filler.subarray(from))
  const stream = Buffer.concat(parts)
  assert.ok(count(stream, MARKER) >= REPEATS)
  return stream
}

function chunked(data: Buffer, size: number): Buffer[] {
  return Array.from({ length: Math.ceil(data.length / size) }, (_, i) =>
    data.subarray(i * size, (i + 1) * size),
  )
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++
  return n
}

/**
 * One connection to `burrow open`: writes `chunks` one by one (each waiting for the previous to be
 * handed to the kernel), half-closes, and returns what came back and what the target received.
 */
async function throughOpen(port: number, chunks: Buffer[]): Promise<{ echoed: Buffer; received: Buffer }> {
  const accepted = target.nextConnection()
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true })
  await once(s, 'connect')
  const echoed = readAll(s)
  for (const chunk of chunks)
    await new Promise<void>((resolve, reject) => s.write(chunk, (e) => (e ? reject(e) : resolve())))
  s.end()
  const result = { echoed: await echoed, received: await (await accepted).done }
  s.destroy()
  return result
}

function readAll(s: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    s.on('data', (d: Buffer) => chunks.push(d))
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
}

interface RecordingEcho {
  port: number
  /** The next connection to be accepted; `done` resolves with what it received once it ends. */
  nextConnection(): Promise<{ done: Promise<Buffer> }>
  close(): Promise<void>
}

/** An echo server (half-close kept) that also records what each connection received. */
async function startRecordingEcho(): Promise<RecordingEcho> {
  const sockets = new Set<net.Socket>()
  const waiting: Array<(c: { done: Promise<Buffer> }) => void> = []
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.pipe(socket)
    const done = new Promise<Buffer>((resolve) => socket.once('end', () => resolve(Buffer.concat(chunks))))
    waiting.shift()?.({ done })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}

/**
 * Records every byte `relay` forwards through its splices, as the relay holds them (after the hop
 * links' decryption): `up` what clients send on their connect streams, `down` what comes back from
 * the server peers (the other end of each splice, seen when the relay pipes it into the connect
 * stream). Listeners are prepended so they are in place before the relay splices a new stream;
 * they only observe ('data', 'pipe'), the relay's flow is unchanged.
 */
function recordSplices(relay: Relay): () => { up: Buffer; down: Buffer } {
  const up: Buffer[] = []
  const down: Buffer[] = []
  for (const listener of relay.linkListeners) {
    listener.prependListener('link', (link) =>
      link.prependListener('stream', (stream: MuxStream) => {
        stream.on('data', (d: Buffer) => up.push(d))
        stream.on('pipe', (source: Readable) => source.on('data', (d: Buffer) => down.push(d)))
      }),
    )
  }
  return () => ({ up: Buffer.concat(up), down: Buffer.concat(down) })
}
