/**
 * The integration fixtures in test/helpers, each proved against the real tool with no burrow in
 * between: OpenSSH, scp, socat, iperf3 and curl against loopback servers. A missing tool skips its
 * test with the package to install; `.ci/run` installs them all.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { makeRandomFile, sha256File, sha256Hex } from '../helpers/files.ts'
import { runIperfClient, startIperfServer } from '../helpers/iperf.ts'
import { freePort, waitForPort, withFreePort } from '../helpers/ports.ts'
import { findBinary, liveProcessCount, run, skipUnlessInstalled, startProcess } from '../helpers/processes.ts'
import { startRecordingProxy } from '../helpers/recording-proxy.ts'
import { DEFAULT_BANNER, startBannerServer, startEchoServer, startHttpServer } from '../helpers/servers.ts'
import { sshConfig, startSshd } from '../helpers/sshd.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-fixtures-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const bin = (name: string): string => findBinary(name) ?? assert.fail(`${name} not installed`)

/** Connects to 127.0.0.1:port; resolves once connected. */
async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  await once(socket, 'connect')
  return socket
}

/** Everything a socket sends until it ends (the caller ends its side or the peer closes). */
async function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Resolves with the first chunk that contains `text`, reading as data arrives. */
function readUntil(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (d: Buffer): void => {
      seen += d.toString()
      if (!seen.includes(text)) return
      socket.off('data', onData)
      resolve(seen)
    }
    socket.on('data', onData).once('error', reject)
  })
}

test('ports: freePort is bindable; waitForPort waits for a late listener, gives up on a dead port', async () => {
  const port = await freePort()
  const waiting = waitForPort(port, { timeoutMs: 5000 })
  const server = net.createServer().listen(port, '127.0.0.1')
  await waiting
  server.close()
  const dead = await freePort()
  await assert.rejects(
    waitForPort(dead, { timeoutMs: 150 }),
    /nothing accepted on 127.0.0.1:\d+ within 150 ms/,
  )
  const abort = new AbortController()
  abort.abort(new Error('server died'))
  await assert.rejects(waitForPort(dead, { signal: abort.signal }), /server died/)
  await assert.rejects(freePort('10.0.0.1' as '127.0.0.1'), /tests stay on loopback/)
  const tried: number[] = []
  const clash = async (p: number): Promise<number> => {
    tried.push(p)
    if (tried.length === 1) throw new Error(`Bind to port ${p} failed: Address already in use.`)
    return p
  }
  assert.equal(await withFreePort(clash), tried[1])
  await assert.rejects(
    withFreePort(() => Promise.reject(new Error('other'))),
    /other/,
  )
})

const CHILD = `
  process.stderr.write('to-stderr\\n')
  if (process.argv[1] === 'stubborn') process.on('SIGTERM', () => console.log('ignoring SIGTERM'))
  process.stdin.on('data', (d) => console.log('got ' + String(d).trim()))
  console.log('ready ' + process.pid)
  setInterval(() => {}, 1e9)`

test('processes: ready line, waitFor on stdout/stderr, stop by SIGTERM and by SIGKILL after the grace', async () => {
  const before = liveProcessCount()
  const p = await startProcess(process.execPath, ['-e', CHILD, 'polite'], { readyLine: /^ready (\d+)$/ })
  assert.equal(p.ready?.[1], String(p.pid))
  p.child.stdin!.write('hello\n')
  assert.equal((await p.waitFor(/^got (\w+)$/, { stream: 'stdout' }))[1], 'hello')
  await p.waitFor(/to-stderr/, { stream: 'stderr' })
  await assert.rejects(p.waitFor(/to-stderr/, { stream: 'stdout', timeoutMs: 50 }), /within 50 ms/)
  assert.deepEqual(await p.stop(), { code: null, signal: 'SIGTERM' })

  const stubborn = await startProcess(process.execPath, ['-e', CHILD, 'stubborn'], { readyLine: /^ready/ })
  const started = Date.now()
  const stopping = stubborn.stop('SIGTERM', 300)
  await stubborn.waitFor(/ignoring SIGTERM/)
  assert.deepEqual(await stopping, { code: null, signal: 'SIGKILL' })
  assert.ok(Date.now() - started >= 290)

  const silent = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], {
    readyLine: /ready/,
    readyTimeoutMs: 100,
  })
  await assert.rejects(silent, /no line matching \/ready\/ within 100 ms/)
  await assert.rejects(startProcess('/nonexistent/burrow-tool', []), /cannot start .*ENOENT/)
  assert.equal(liveProcessCount(), before)
})

test('processes: a process killed from outside is detected, untracked, and its waiters fail', async () => {
  const before = liveProcessCount()
  const p = await startProcess(process.execPath, ['-e', CHILD], { readyLine: /^ready/ })
  assert.equal(liveProcessCount(), before + 1)
  const pending = assert.rejects(p.waitFor(/never printed/, { timeoutMs: 10_000 }), /output ended first/)
  process.kill(p.pid, 'SIGKILL')
  assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' })
  await pending
  assert.equal(liveProcessCount(), before)
  assert.deepEqual(await p.stop(), { code: null, signal: 'SIGKILL' })

  const bytes = Buffer.from([0, 255, 10, 13, 1])
  const r = await run(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], { input: bytes })
  assert.deepEqual(r.stdout, bytes)
  await assert.rejects(
    run(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { timeoutMs: 100 }),
    /after 100 ms/,
  )
  assert.equal(liveProcessCount(), before)
})

test('processes: what a failing test file leaves running is killed (root after hook; exit handler)', async () => {
  // The leaked child holds a TCP connection to this server: its close is the event proving death.
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const helpers = new URL('../helpers/processes.ts', import.meta.url).href
  const leaker = `require('net').connect(${port}, '127.0.0.1', () => console.log('ready')); setInterval(() => {}, 1e9)`
  for (const [mode, ending] of [
    ['failing test', `throw new Error('test failed')`],
    ['process.exit', 'process.exit(3)'],
  ] as const) {
    const file = path.join(dir, `leak-${mode.replace(/\W/g, '-')}.test.mts`)
    writeFileSync(
      file,
      `import { test } from 'node:test'\nimport { startProcess } from ${JSON.stringify(helpers)}\n` +
        `test('leaks', async () => {\n  await startProcess(process.execPath, ['-e', ${JSON.stringify(leaker)}], { readyLine: /ready/ })\n  ${ending}\n})\n`,
    )
    const connection = once(server, 'connection') as Promise<[net.Socket]>
    const r = await run(process.execPath, ['--import', 'tsx', file], { cwd: REPO, timeoutMs: 30_000 })
    assert.notEqual(r.code, 0, `${mode}: the test file should fail`)
    const [socket] = await connection
    if (!socket.closed) await once(socket, 'close', { signal: AbortSignal.timeout(5000) })
  }
  server.close()
})

test('sshd: ssh runs `echo ok`; scp up and `ssh cat` down move 16 MiB intact', async (t) => {
  if (skipUnlessInstalled(t, ['sshd', 'ssh-keygen', 'ssh', 'scp'])) return
  const sshd = await startSshd()
  t.after(() => sshd.stop())
  const echo = await run(bin('ssh'), sshd.sshArgs([sshd.destination, 'echo ok']))
  assert.equal(echo.code, 0, echo.stderr)
  assert.equal(echo.stdout.toString(), 'ok\n')

  const file = await makeRandomFile(dir, 16 * 1024 * 1024)
  const uploaded = path.join(dir, 'uploaded.bin')
  const scp = await run(bin('scp'), sshd.scpArgs(['-q', file.path, `${sshd.destination}:${uploaded}`]))
  assert.equal(scp.code, 0, scp.stderr)
  assert.equal(await sha256File(uploaded), file.sha256)
  const cat = await run(bin('ssh'), sshd.sshArgs([sshd.destination, `cat '${file.path}'`]))
  assert.equal(cat.code, 0, cat.stderr)
  assert.equal(cat.stdout.length, file.bytes)
  assert.equal(sha256Hex(cat.stdout), file.sha256)
})

test('sshd: an ssh_config with ProxyCommand (socat) and with ProxyJump reaches the server', async (t) => {
  if (skipUnlessInstalled(t, ['sshd', 'ssh-keygen', 'ssh', 'socat'])) return
  const sshd = await startSshd()
  t.after(() => sshd.stop())
  const config = sshConfig(path.join(sshd.dir, 'ssh_config'), [
    sshd.hostEntry('direct'),
    sshd.hostEntry('via-command', { proxyCommand: `${bin('socat')} - TCP:127.0.0.1:%p` }),
    sshd.hostEntry('via-jump', { proxyJump: 'direct' }),
  ])
  for (const alias of ['direct', 'via-command', 'via-jump']) {
    const r = await run(bin('ssh'), ['-F', config, alias, `echo ${alias}`])
    assert.equal(r.code, 0, `${alias}: ${r.stderr}`)
    assert.equal(r.stdout.toString(), `${alias}\n`)
  }
  const wrongKey = readFileSync(sshd.knownHosts, 'utf8').replace(
    /AAAA\S+/,
    'AAAAC3NzaC1lZDI1NTE5AAAAI' + 'A'.repeat(43),
  )
  writeFileSync(sshd.knownHosts, wrongKey)
  const refused = await run(bin('ssh'), ['-F', config, 'direct', 'true'])
  assert.equal(refused.code, 255, 'a changed host key must be refused')
})

test('iperf3: client against the fixture server (TCP; reverse UDP; one-off exits after its test)', async (t) => {
  if (skipUnlessInstalled(t, ['iperf3'])) return
  const server = await startIperfServer()
  t.after(() => server.stop())
  const tcp = await runIperfClient({ port: server.port, seconds: 1 })
  assert.ok(tcp.sentBytes > 0 && tcp.receivedBytes > 0 && tcp.bitsPerSecond > 0, JSON.stringify(tcp))
  assert.equal(tcp.lostPercent, undefined)
  const udp = await runIperfClient({
    port: server.port,
    seconds: 1,
    udp: true,
    reverse: true,
    bitrate: '20M',
  })
  assert.ok(udp.receivedBytes > 0 && udp.lostPercent !== undefined, JSON.stringify(udp))

  const oneOff = await startIperfServer({ oneOff: true })
  t.after(() => oneOff.stop())
  assert.ok((await runIperfClient({ port: oneOff.port, seconds: 1 })).receivedBytes > 0)
  assert.equal((await oneOff.process.exited).code, 0)
})

test('http: curl gets the known bodies, the large one with its sha256, and an echoed upload', async (t) => {
  if (skipUnlessInstalled(t, ['curl'])) return
  const http = await startHttpServer({ largeBytes: 4 * 1024 * 1024 + 3 })
  t.after(() => http.close())
  const curl = (...args: string[]): ReturnType<typeof run> =>
    run(bin('curl'), ['-sS', '--fail', '--noproxy', '*', '--max-time', '30', ...args])
  for (const [p, body] of Object.entries(http.bodies)) {
    const r = await curl(`${http.url}${p}`)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), body)
  }
  const large = await curl(`${http.url}${http.large.path}`)
  assert.equal(large.stdout.length, http.large.bytes)
  assert.equal(sha256Hex(large.stdout), http.large.sha256)
  const file = await makeRandomFile(dir, 300_000)
  const echoed = await curl('--data-binary', `@${file.path}`, `${http.url}/echo`)
  assert.equal(sha256Hex(echoed.stdout), file.sha256)
  assert.equal((await curl(`${http.url}/missing`)).code, 22) // --fail: HTTP 404
})

test('echo and banner servers: echo keeps half-close; the banner arrives before the client writes', async () => {
  const echo = await startEchoServer()
  const banner = await startBannerServer()
  try {
    const a = await connect(echo.port)
    a.end('round trip')
    assert.equal((await readAll(a)).toString(), 'round trip')
    const b = await connect(banner.port)
    assert.equal(await readUntil(b, '\n'), DEFAULT_BANNER)
    b.write('after banner\n')
    assert.equal(await readUntil(b, 'after banner\n'), 'after banner\n')
    b.destroy()
  } finally {
    await Promise.all([echo.close(), banner.close()])
  }
})

test('recording proxy: forwards and records both ways (curl, raw bytes), holds while stopped, overflows loudly', async (t) => {
  const echo = await startEchoServer()
  const http = await startHttpServer({ largeBytes: 0 })
  const proxy = await startRecordingProxy({ host: '127.0.0.1', port: echo.port })
  const httpProxy = await startRecordingProxy({ host: '127.0.0.1', port: http.port })
  t.after(() => Promise.all([proxy.close(), httpProxy.close(), echo.close(), http.close()]))

  const marker = 'BURROW-MARKER-' + sha256Hex(String(Math.random())).slice(0, 16)
  const a = await connect(proxy.port)
  a.end(marker)
  assert.equal((await readAll(a)).toString(), marker)
  assert.deepEqual(proxy.captured(), { up: Buffer.from(marker), down: Buffer.from(marker) })
  assert.ok(proxy.contains(marker) && !proxy.contains('absent'))

  if (findBinary('curl') !== undefined) {
    const r = await run(bin('curl'), ['-sS', '--noproxy', '*', `http://127.0.0.1:${httpProxy.port}/hello`])
    assert.equal(r.stdout.toString(), http.bodies['/hello'])
    assert.match(httpProxy.captured().up.toString(), /^GET \/hello HTTP\/1\.1\r\n/)
    assert.ok(httpProxy.contains(http.bodies['/hello']))
  }

  const b = await connect(proxy.port)
  proxy.stopForwarding()
  b.write('held')
  const direct = await connect(echo.port) // a full loopback round trip while the bytes wait
  direct.end('x')
  await readAll(direct)
  assert.equal(proxy.contains('held'), false)
  proxy.resumeForwarding()
  assert.equal(await readUntil(b, 'held'), 'held')
  b.destroy()
  assert.equal(proxy.connections, 2)

  let overflow: Error | undefined
  const small = await startRecordingProxy(
    { host: '127.0.0.1', port: echo.port },
    { maxCaptureBytes: 1024, onOverflow: (err) => (overflow = err) },
  )
  t.after(() => small.close())
  const c = await connect(small.port)
  const ended = new Promise((resolve) => c.once('end', resolve).once('error', resolve))
  c.resume().write(Buffer.alloc(4096))
  await ended
  c.destroy()
  assert.match(String(overflow), /exceed 1024 bytes/)
  assert.throws(() => small.captured(), /exceed 1024 bytes/)
})

test('files: makeRandomFile hashes what it writes; sha256File agrees', async () => {
  const f = await makeRandomFile(dir, 3 * 1024 * 1024 + 17)
  const bytes = readFileSync(f.path)
  assert.equal(bytes.length, f.bytes)
  assert.equal(sha256Hex(bytes), f.sha256)
  assert.equal(await sha256File(f.path), f.sha256)
  const empty = await makeRandomFile(dir, 0, 'empty.bin')
  assert.equal(empty.sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  await assert.rejects(makeRandomFile(dir, 1, 'empty.bin'), /EEXIST/)
  await assert.rejects(makeRandomFile(dir, -1), RangeError)
})
