/**
 * npm run bench:link — the same payloads through (a) plain TCP, (b) a Node TLS 1.3 socket pair
 * (OpenSSL's record layer: the anchor), (c) a burrow link (tcp + Noise + mux), in one run on
 * loopback. A fourth column, tls-chacha, forces TLS 1.3 to TLS_CHACHA20_POLY1305_SHA256, burrow's
 * AEAD, so the record layers are compared with the cipher held equal. Prints each figure and the
 * ratio burrow/TLS, in two layouts:
 *
 *   pair   both ends in this process, as a socket pair: one core does all the work, so the figures
 *          compare CPU cost per byte and per message (the layout DESIGN.md's figures were taken in)
 *   split  the server side in a child process: each end has its own core, as across a network
 *          (the sender's crypto then bounds throughput)
 *
 *   single stream   one connection/stream, 512 MiB, MB/s (median of 3)
 *   8 streams       8 connections (TCP, TLS) or 8 streams on one link (burrow), 64 MiB each, MB/s
 *   64 B req/resp   20,000 round trips of 64 bytes on one connection/stream, p50 and p99 in us
 *   connect         new connection + handshake (+ first stream for burrow), median of 200, ms
 *   peak RSS        the server's peak RSS while one stream is never read and another moves 256 MiB
 */
import { once } from 'node:events'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { generateIdentity } from '../src/identity/keys.ts'
import { dial, type Link } from '../src/mux/link.ts'
import { startChild } from './lib/child.ts'
import { fillUnread, memoryOf, pingPong, sink, trackPeakRss } from './lib/modes.ts'
import { startBenchServers, type BenchServers } from './lib/servers.ts'
import { machine, mbps, median, percentile, printTable, type Row } from './lib/stats.ts'
import { benchCert } from './lib/tls.ts'

const MiB = 1024 * 1024
const SINGLE = Number(process.env.BENCH_SINGLE_MIB ?? 512) * MiB
const MULTI = Number(process.env.BENCH_MULTI_MIB ?? 64) * MiB
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20_000)
const CONNECTS = 200
const UNREAD_SIDE = 256 * MiB

interface Variant {
  name: string
  /** A fresh connection (tcp, tls) or a stream on the shared link (burrow). */
  open(): Promise<Duplex>
  /** A fresh connection including its handshake (for burrow: a new link and its first stream). */
  connect(): Promise<{ stream: Duplex; close(): void }>
  close(): void
}

export async function runLinkBench(layout: 'pair' | 'split'): Promise<Row[]> {
  const cert = benchCert()
  const server =
    layout === 'split'
      ? await startChild<BenchServers>('bench/link-server.ts', [cert.certPath, cert.keyPath])
      : await inProcess(cert.cert, cert.key)
  const identity = generateIdentity()
  const tcpOpen = () => connectTcp(server.info.tcp)
  const tlsOpen = () => connectTls(server.info.tls, cert.cert)
  const tlsChachaOpen = () => connectTls(server.info.tlsChacha, cert.cert)
  const link = await dial(server.info.burrow, identity)
  const variants: Variant[] = [
    { name: 'tcp', open: tcpOpen, connect: async () => wrap(await tcpOpen()), close: () => {} },
    { name: 'tls', open: tlsOpen, connect: async () => wrap(await tlsOpen()), close: () => {} },
    {
      name: 'tls-chacha',
      open: tlsChachaOpen,
      connect: async () => wrap(await tlsChachaOpen()),
      close: () => {},
    },
    {
      name: 'burrow',
      open: async () => link.openStream(),
      connect: async () => {
        const l: Link = await dial(server.info.burrow, identity)
        return { stream: l.openStream(), close: () => l.close() }
      },
      close: () => link.close(),
    },
  ]
  const rows: Row[] = [
    { figure: 'single stream', unit: 'MB/s', values: {} },
    { figure: '8 streams', unit: 'MB/s', values: {} },
    { figure: '64 B req/resp p50', unit: 'us', values: {} },
    { figure: '64 B req/resp p99', unit: 'us', values: {} },
    { figure: 'connect + handshake', unit: 'ms', values: {} },
    {
      figure: layout === 'pair' ? 'peak RSS, 1 unread stream' : 'server peak RSS, 1 unread stream',
      unit: 'MiB',
      values: {},
    },
  ]
  const [single, multi, p50, p99, connectRow, rss] = rows as [Row, Row, Row, Row, Row, Row]
  for (const v of variants) {
    const runs: number[] = []
    for (let i = 0; i < 3; i++) runs.push(mbps(SINGLE, await sink(await v.open(), SINGLE)))
    single.values[v.name] = median(runs)

    const start = performance.now()
    await Promise.all(Array.from({ length: 8 }, async () => sink(await v.open(), MULTI)))
    multi.values[v.name] = mbps(8 * MULTI, performance.now() - start)

    const times = await pingPong(await v.open(), 64, ROUNDS, 2000)
    p50.values[v.name] = percentile(times, 50)
    p99.values[v.name] = percentile(times, 99)

    const connects: number[] = []
    for (let i = 0; i < CONNECTS; i++) {
      const t = performance.now()
      const c = await v.connect()
      await pingPong(c.stream, 1, 1, 0)
      connects.push(performance.now() - t)
      c.stream.destroy()
      c.close()
    }
    connectRow.values[v.name] = median(connects)

    await memoryOf(await v.open()) // resets the server's peak
    const unread = await v.open()
    const stuck = fillUnread(unread)
    await sink(await v.open(), UNREAD_SIDE)
    await stuck
    const mem = await memoryOf(await v.open())
    rss.values[v.name] = mem.peakRss / MiB
    unread.destroy()
  }
  for (const v of variants) v.close()
  server.stop()
  return rows
}

async function inProcess(cert: Buffer, key: Buffer): Promise<{ info: BenchServers; stop(): void }> {
  trackPeakRss()
  const servers = await startBenchServers(cert, key)
  return { info: servers, stop: () => servers.close() }
}

function wrap(s: Duplex): { stream: Duplex; close(): void } {
  return { stream: s, close: () => s.destroy() }
}

async function connectTcp(port: number): Promise<Duplex> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true })
  await once(s, 'connect')
  return s
}

async function connectTls(port: number, ca: Buffer): Promise<Duplex> {
  const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost', minVersion: 'TLSv1.3' })
  await once(s, 'secureConnect')
  s.setNoDelay(true)
  return s
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`burrow link benchmark: ${machine()}`)
  const layouts = (process.env.BENCH_LAYOUT ?? 'pair,split').split(',') as Array<'pair' | 'split'>
  for (const layout of layouts) {
    console.log(`\nlayout: ${layout}`)
    printTable(
      await runLinkBench(layout),
      ['tcp', 'tls', 'tls-chacha', 'burrow'],
      [
        ['burrow', 'tls'],
        ['burrow', 'tls-chacha'],
        ['burrow', 'tcp'],
      ],
    )
  }
  process.exit(0)
}
