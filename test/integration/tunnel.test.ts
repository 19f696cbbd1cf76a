import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { connect } from '../../src/peer/connect.ts'
import { serve } from '../../src/peer/serve.ts'
import { explain } from '../../src/peer/codes.ts'
import { ClientAllowList } from '../../src/policy/clients.ts'
import { TargetPolicy } from '../../src/policy/targets.ts'
import { startRelay } from '../../src/relay/server.ts'
import { rawServer } from '../helpers/sockets.ts'
import { FAST_LINK, createTestNet, ready } from '../helpers/tunnel.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-tunnel-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const echo = () => rawServer((s) => s.pipe(s))

function dialLocal(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s))
    s.once('error', reject)
  })
}

function collect(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    s.on('data', (d: Buffer) => chunks.push(d))
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
}

test('open: a local connection reaches the target through the relay and back', async () => {
  const target = await echo()
  const net_ = await createTestNet()
  const client = generateIdentity()
  const server = await net_.serve({ targets: [`127.0.0.1:${target.port}`], clients: [client] })
  const tunnel = await net_.open(server, { identity: client, target: `tcp://127.0.0.1:${target.port}` })
  const socket = await dialLocal(tunnel.localAddress.port)
  const got = collect(socket)
  socket.end('through the relay')
  assert.equal((await got).toString(), 'through the relay')
  assert.equal(net_.relay.stats.announced, 1)
  await net_.closeAll()
  await target.close()
})

test('a server that speaks first (banner) works: the target is dialed when the stream opens', async () => {
  const banner = await rawServer((s) => s.end('220 banner from the service\r\n'))
  const net_ = await createTestNet()
  const client = generateIdentity()
  const server = await net_.serve({
    targets: [`127.0.0.1:${banner.port}`],
    defaultTarget: `tcp://127.0.0.1:${banner.port}`,
    clients: [client],
  })
  const tunnel = await net_.open(server, { identity: client })
  const socket = await dialLocal(tunnel.localAddress.port)
  assert.equal((await collect(socket)).toString(), '220 banner from the service\r\n')
  await net_.closeAll()
  await banner.close()
})

test('half-close: the client ends its side and still receives the whole reply', async () => {
  const reply = randomBytes(2 * 1024 * 1024)
  const target = await rawServer((s) => {
    let n = 0
    s.on('data', (d: Buffer) => (n += d.length))
    s.on('end', () => {
      s.write(`${n}\n`)
      s.end(reply)
    })
  })
  const net_ = await createTestNet()
  const client = generateIdentity()
  const server = await net_.serve({ targets: [`127.0.0.1:${target.port}`], clients: [client] })
  const tunnel = await net_.open(server, { identity: client, target: `tcp://127.0.0.1:${target.port}` })
  const socket = await dialLocal(tunnel.localAddress.port)
  const got = collect(socket)
  socket.end(Buffer.alloc(300_000, 1))
  const all = await got
  assert.equal(all.subarray(0, 7).toString(), '300000\n')
  assert.deepEqual(all.subarray(7), reply)
  await net_.closeAll()
  await target.close()
})

test('connect: every refusal arrives as its own coded error', async () => {
  const target = await echo()
  const closed = await echo()
  const closedPort = closed.port
  await closed.close()
  const net_ = await createTestNet()
  const client = generateIdentity()
  const server = await net_.serve({
    targets: [`127.0.0.1:${target.port}`, `127.0.0.1:${closedPort}`],
    clients: [client],
  })
  const outcome = async (
    identity = client,
    targetUrl = `tcp://127.0.0.1:${target.port}`,
    address = server.address,
  ) => {
    try {
      const c = await connect({
        identity,
        server: address,
        target: targetUrl,
        link: FAST_LINK,
        relayLink: FAST_LINK,
        pathWaitMs: 2000,
      })
      const got = collect(c.stream).catch((err) => explain(err))
      c.stream.end('x')
      const result = await got
      c.close()
      return result instanceof Error ? (result as { code?: string }).code : 'ok'
    } catch (err) {
      return (err as { code?: string }).code
    }
  }
  assert.equal(await outcome(), 'ok')
  assert.equal(await outcome(client, 'tcp://127.0.0.1:1'), 'TUN_ERR_TARGET_DENIED')
  assert.equal(await outcome(client, 'tcp://10.0.0.1:22'), 'TUN_ERR_TARGET_DENIED')
  assert.equal(await outcome(client, `tcp://127.0.0.1:${closedPort}`), 'TUN_ERR_TARGET_REFUSED')
  assert.equal(await outcome(generateIdentity()), 'TUN_ERR_UNAUTHORIZED')
  const missing = `${net_.relayAddress}~tunnel:${generateIdentity().id}`
  assert.equal(await outcome(client, undefined, missing), 'TUN_ERR_PEER_NOT_FOUND')
  await net_.closeAll()
  await target.close()
})

test('the server never dials a target for a client it does not allow', async () => {
  let dialed = 0
  const target = await rawServer((s) => {
    dialed++
    s.destroy()
  })
  const net_ = await createTestNet()
  const server = await net_.serve({ targets: [`127.0.0.1:${target.port}`], clients: [generateIdentity()] })
  await assert.rejects(
    connect({
      identity: generateIdentity(),
      server: server.address,
      target: `tcp://127.0.0.1:${target.port}`,
      pathWaitMs: 2000,
    }),
    { code: 'TUN_ERR_UNAUTHORIZED' },
  )
  assert.equal(dialed, 0)
  await net_.closeAll()
  await target.close()
})

test('max-sessions: a second client is refused with TUN_ERR_SESSION_LIMIT while the first stays', async () => {
  const target = await echo()
  const net_ = await createTestNet()
  const [a, b] = [generateIdentity(), generateIdentity()]
  const server = await net_.serve({ targets: [`127.0.0.1:${target.port}`], clients: [a, b], maxSessions: 1 })
  const first = await connect({
    identity: a,
    server: server.address,
    target: `tcp://127.0.0.1:${target.port}`,
  })
  await assert.rejects(
    connect({
      identity: b,
      server: server.address,
      target: `tcp://127.0.0.1:${target.port}`,
      pathWaitMs: 2000,
    }),
    {
      code: 'TUN_ERR_SESSION_LIMIT',
    },
  )
  const got = collect(first.stream)
  first.stream.end('still here')
  assert.equal((await got).toString(), 'still here')
  first.close()
  await net_.closeAll()
  await target.close()
})

test('removing a client from the allow file closes its sessions and keeps the others', async () => {
  const target = await echo()
  const [a, b] = [generateIdentity(), generateIdentity()]
  const file = path.join(dir, 'clients.txt')
  writeFileSync(file, `${a.id} laptop\n${b.id} desktop\n`)
  const clients = new ClientAllowList({ file, debounceMs: 20 }).watch()
  const relay = await startRelay({
    identity: generateIdentity(),
    listen: ['tcp:127.0.0.1:0'],
    link: FAST_LINK,
  })
  const server = serve({
    identity: generateIdentity(),
    relays: [relay.address('device')],
    tcp: new TargetPolicy([`127.0.0.1:${target.port}`]),
    clients,
    link: FAST_LINK,
    relayLink: FAST_LINK,
  })
  await ready(server)
  const to = `tcp://127.0.0.1:${target.port}`
  const ca = await connect({ identity: a, server: server.address, target: to })
  const cb = await connect({ identity: b, server: server.address, target: to })
  const aError = new Promise<Error>((resolve) => ca.stream.once('error', resolve))
  const changed = once(clients, 'change')
  const tmp = `${file}.new`
  writeFileSync(tmp, `${b.id} desktop\n`)
  renameSync(tmp, file)
  const [change] = await changed
  assert.deepEqual(change, { added: [], removed: [a.id] })
  assert.match(String(((await aError) as { code?: string }).code), /^TUN_ERR_/)
  const got = collect(cb.stream)
  cb.stream.end('b is still allowed')
  assert.equal((await got).toString(), 'b is still allowed')
  await assert.rejects(connect({ identity: a, server: server.address, target: to, pathWaitMs: 2000 }), {
    code: 'TUN_ERR_UNAUTHORIZED',
  })
  ca.close()
  cb.close()
  server.close()
  clients.close()
  await relay.close()
  await target.close()
})

test('200 concurrent connections each echo 1 MiB intact', async () => {
  const target = await echo()
  const net_ = await createTestNet()
  const client = generateIdentity()
  const server = await net_.serve({ targets: [`127.0.0.1:${target.port}`], clients: [client] })
  const tunnel = await net_.open(server, { identity: client, target: `tcp://127.0.0.1:${target.port}` })
  const one = async () => {
    const data = randomBytes(1024 * 1024)
    const socket = await dialLocal(tunnel.localAddress.port)
    const got = collect(socket)
    socket.end(data)
    const back = await got
    assert.equal(
      createHash('sha256').update(back).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    )
  }
  await Promise.all(Array.from({ length: 200 }, one))
  await net_.closeAll()
  await target.close()
})

test('relay restart: serve re-announces and new connections succeed; a vanished server gives a clear error', async () => {
  const target = await echo()
  const relayIdentity = generateIdentity()
  let relay = await startRelay({ identity: relayIdentity, listen: ['tcp:127.0.0.1:0'], link: FAST_LINK })
  const port = (relay.linkListeners[0]?.transportAddress as { port: number }).port
  const client = generateIdentity()
  const server = serve({
    identity: generateIdentity(),
    relays: [relay.address('device')],
    tcp: new TargetPolicy([`127.0.0.1:${target.port}`]),
    clients: { has: (id) => id === client.id },
    link: FAST_LINK,
    relayLink: FAST_LINK,
    backoff: { baseMs: 50, maxMs: 400 },
  })
  await ready(server)
  const roundTrip = async (text: string) => {
    const c = await connect({
      identity: client,
      server: server.address,
      target: `tcp://127.0.0.1:${target.port}`,
      link: FAST_LINK,
      relayLink: FAST_LINK,
      pathWaitMs: 5000,
    })
    const got = collect(c.stream)
    c.stream.end(text)
    const back = (await got).toString()
    c.close()
    return back
  }
  assert.equal(await roundTrip('before'), 'before')
  await relay.close()
  const down = new Promise<void>((resolve) =>
    server.on('relay', ({ state }) => state === 'waiting' && resolve()),
  )
  await down
  relay = await startRelay({ identity: relayIdentity, listen: [`tcp:127.0.0.1:${port}`], link: FAST_LINK })
  await ready(server)
  assert.equal(await roundTrip('after the restart'), 'after the restart')
  server.close()
  await assert.rejects(
    connect({
      identity: client,
      server: server.address,
      target: `tcp://127.0.0.1:${target.port}`,
      relayLink: FAST_LINK,
      pathWaitMs: 2000,
    }),
    { code: 'TUN_ERR_PEER_NOT_FOUND' },
  )
  await relay.close()
  await target.close()
})
