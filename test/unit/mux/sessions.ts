/** Shared setup for the mux tests: two connected sessions over an in-memory pair or loopback TCP. */
import { once } from 'node:events'
import type { Duplex, Readable } from 'node:stream'
import { MuxSession } from '../../../src/mux/session.ts'
import type { MuxOptions } from '../../../src/mux/types.ts'
import { generateIdentity } from '../../../src/identity/keys.ts'
import { secureInbound, secureOutbound } from '../../../src/secure/connect.ts'
import type { Conn } from '../../../src/transport/types.ts'
import { memoryPair, tcpPair } from '../../helpers/pair.ts'

/** memory: in-memory pair; tcp: loopback sockets; secure: loopback sockets + the Noise channel (a link). */
export type Kind = 'memory' | 'tcp' | 'secure'
export const KINDS: Kind[] = ['memory', 'tcp']

export interface SessionPair {
  client: MuxSession
  server: MuxSession
  a: Duplex
  b: Duplex
  /** Closes both sessions and waits for both conns to close. */
  close(): Promise<void>
}

type Opts = Omit<MuxOptions, 'initiator'>

const live = new Set<SessionPair>()

/** Closes every pair a test left open (call it from afterEach), so a failed test leaks no socket. */
export async function closeAllPairs(): Promise<void> {
  await Promise.all([...live].map((p) => p.close()))
}

export async function sessionPair(
  kind: Kind,
  clientOpts: Opts = {},
  serverOpts: Opts = {},
): Promise<SessionPair> {
  let a: Duplex
  let b: Duplex
  if (kind === 'tcp') ({ a, b } = await tcpPair())
  else if (kind === 'secure') {
    const raw = await tcpPair()
    const [alice, bob] = [generateIdentity(), generateIdentity()]
    const conn = (d: Duplex): Conn =>
      Object.assign(d, { info: { transport: 'tcp' as const, remote: '?', local: '?' } })
    ;[a, b] = await Promise.all([
      secureOutbound(conn(raw.a), alice, { remoteId: bob.id }),
      secureInbound(conn(raw.b), bob),
    ])
  } else [a, b] = memoryPair()
  const client = new MuxSession(a, { keepaliveInterval: 0, ...clientOpts, initiator: true })
  const server = new MuxSession(b, { keepaliveInterval: 0, ...serverOpts, initiator: false })
  const pair: SessionPair = {
    client,
    server,
    a,
    b,
    async close() {
      live.delete(pair)
      client.close()
      server.close()
      a.destroy()
      b.destroy()
      await Promise.all([a, b].map((c) => (c.closed ? undefined : once(c, 'close'))))
    },
  }
  live.add(pair)
  return pair
}

/** Reads a stream to its end and returns the bytes (without destroying it, unlike `for await`). */
export function readAll(r: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    r.on('data', (c: Buffer) => parts.push(c))
    r.once('end', () => resolve(Buffer.concat(parts)))
    r.once('error', reject)
  })
}

/** Resolves with the error a stream is destroyed with (or undefined if it closes cleanly). */
export function closed(s: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let error: Error | undefined
    s.on('error', (err) => (error = err))
    s.on('close', () => resolve(error))
    if (s.closed) resolve(s.errored ?? undefined)
  })
}
