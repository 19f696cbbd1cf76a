/**
 * In-process tunnels for tests (the testnet of STYLE principle 11): a relay on 127.0.0.1, server
 * peers announced to it, and clients. Everything is closed by `closeAll()`.
 */
import { generateIdentity, type Identity } from '../../src/identity/keys.ts'
import { expose, type ExposeOptions, type Exposer } from '../../src/peer/expose.ts'
import { open, type OpenOptions, type Tunnel } from '../../src/peer/open.ts'
import { serve, type Server, type ServeOptions } from '../../src/peer/serve.ts'
import { TargetPolicy } from '../../src/policy/targets.ts'
import { startRelay, type Relay, type RelayOptions } from '../../src/relay/server.ts'

/** Fast keepalive and reconnects, so dead peers and restarts are noticed in test time. */
export const FAST_LINK = { keepaliveInterval: 200, keepaliveTimeout: 1000 }
export const FAST_BACKOFF = { baseMs: 50, maxMs: 400 }

export interface TestNet {
  relay: Relay
  relayAddress: string
  /** Serves `targets` (TCP rules) to `clients` (identities), announced to the relay; resolves when announced. */
  /** Serves `targets` (TCP rules) to `clients`, or to any client when absent; other options pass through. */
  serve(
    options: Partial<Omit<ServeOptions, 'clients'>> & { targets: string[]; clients?: Identity[] },
  ): Promise<Server & { identity: Identity }>
  open(server: Server, options: Partial<OpenOptions> & { identity: Identity }): Promise<Tunnel>
  /** Starts exposing `local` on a public port of the relay (not awaited: see `exposer.ready()`). */
  expose(options: Partial<ExposeOptions> & { local: string }): Exposer & { identity: Identity }
  closeAll(): Promise<void>
}

export async function createTestNet(relayOptions: Partial<RelayOptions> = {}): Promise<TestNet> {
  const relay = await startRelay({
    identity: generateIdentity(),
    listen: ['tcp:127.0.0.1:0'],
    link: FAST_LINK,
    ...relayOptions,
  })
  const closers: Array<() => unknown> = [() => relay.close()]
  const relayAddress = relay.address('device')
  return {
    relay,
    relayAddress,
    async serve({ targets, clients: allowed, ...options }) {
      const identity = options.identity ?? generateIdentity()
      const ids = new Set((allowed ?? []).map((c) => c.id))
      const server = serve({
        identity,
        relays: [relayAddress],
        tcp: new TargetPolicy(targets),
        clients: allowed === undefined ? undefined : { has: (id) => ids.has(id) },
        allowAnyClient: allowed === undefined,
        link: FAST_LINK,
        relayLink: FAST_LINK,
        backoff: FAST_BACKOFF,
        ...options,
      })
      closers.push(() => server.close())
      await ready(server)
      return Object.assign(server, { identity })
    },
    async open(server, options) {
      const tunnel = await open({
        server: server.address,
        listen: '127.0.0.1:0',
        link: FAST_LINK,
        relayLink: FAST_LINK,
        backoff: FAST_BACKOFF,
        pathWaitMs: 3000,
        ...options,
      })
      closers.push(() => tunnel.close())
      return tunnel
    },
    expose(options) {
      const identity = options.identity ?? generateIdentity()
      const exposer = expose({
        identity,
        relay: relayAddress,
        relayLink: FAST_LINK,
        backoff: FAST_BACKOFF,
        refusedBackoff: FAST_BACKOFF,
        ...options,
      })
      closers.push(() => exposer.close())
      return Object.assign(exposer, { identity })
    },
    async closeAll() {
      for (const close of closers.reverse()) await close()
    },
  }
}

/** Resolves when every relay of `server` has announced it. */
export function ready(server: Server): Promise<void> {
  if (server.relays.every((r) => r.state === 'ready')) return Promise.resolve()
  return new Promise((resolve) => {
    const check = () => {
      if (server.relays.every((r) => r.state === 'ready')) {
        server.off('relay', check)
        resolve()
      }
    }
    server.on('relay', check)
  })
}
