/**
 * The relay's public ports: answers `expose` requests (policy, port choice, limits), binds a
 * public listener per exposure (public-port.ts), and closes exposures whose peer lost its grant.
 * docs/protocol.md, section "Exposures", has the flow; wire.ts the messages.
 *
 * Choosing the port: a peer that names one gets exactly that one or a refusal
 * (TUN_ERR_EXPOSE_DENIED outside its grant, TUN_ERR_PORT_UNAVAILABLE when another peer holds or has
 * reserved it, or something else on the host has it bound). A peer that names none gets its own
 * reserved port back if it has one, else a free granted port starting at a random point of the
 * grant (so two relays with the same range do not collide in lockstep), trying at most
 * {@link MAX_BIND_ATTEMPTS} ports that turn out to be bound by other programs.
 *
 * Limits (named, finite, overridable): exposures per peer ({@link MAX_EXPOSURES_PER_PEER}), public
 * ports in all ({@link MAX_PUBLIC_PORTS}), visitors per exposure (public-port.ts). A port is held in
 * the book before its bind starts, so two requests racing for one port cannot both bind it.
 */
import { EventEmitter } from 'node:events'
import { scopeOfHost } from '../address/scope.ts'
import { TunnelError, describeError, isTunnelError } from '../errors.ts'
import type { Link } from '../mux/link.ts'
import type { MuxStream } from '../mux/stream.ts'
import type { PortRange } from '../policy/targets.ts'
import { DEFAULT_EXPOSE_RANGE, portCount } from './expose-allow.ts'
import type { ExposeAllowChange, ExposePolicy } from './expose-allow-list.ts'
import { Exposure, type ExposureEnd, type ExposureHooks } from './exposure.ts'
import { expandAddresses } from './interfaces.ts'
import { PortBook } from './port-book.ts'
import { PUBLIC_PORT_MAX_VISITORS, openPublicPort } from './public-port.ts'
import { RelayResetCode, type ExposeReply, type ExposeRequest } from './wire.ts'

/** Public ports one peer may hold at once. */
export const MAX_EXPOSURES_PER_PEER = 8
/** Public ports the relay holds at once, over all peers. */
export const MAX_PUBLIC_PORTS = 1024
/** Ports tried when a pick finds them bound by another program on the host. */
export const MAX_BIND_ATTEMPTS = 16
/** The default bind address of public ports. */
export const DEFAULT_EXPOSE_BIND = '0.0.0.0'

export interface ExposeOptions {
  /** Who may expose which ports. Required: without it nobody may. */
  policy: ExposePolicy
  /** The range picks come from and `*` grants (default {@link DEFAULT_EXPOSE_RANGE}). */
  range?: PortRange
  /** Where public ports bind (default {@link DEFAULT_EXPOSE_BIND}). */
  bind?: string
  /** The host name visitors use, sent to the peer in the reply (default: the bind address). */
  publicHost?: string
  /** Reservation after an exposure ends (default DEFAULT_EXPOSE_GRACE_MS, 10 minutes). */
  graceMs?: number
  /** Certificate and key for TLS public ports; without them `tls` requests are refused. */
  tls?: { cert: string | Buffer; key: string | Buffer }
  limits?: { perPeer?: number; total?: number; visitorsPerExposure?: number }
  /** Clock (ms since the epoch) and jitter source, injected by tests. */
  now?: () => number
  random?: () => number
}

export interface ExposuresEvents {
  expose: [info: { peer: string; port: number; host: string; tls: boolean }]
  unexpose: [info: { peer: string; port: number; why: ExposureEnd; err?: Error }]
  refused: [info: { peer: string; port?: number; err: TunnelError }]
  visitor: [info: { peer: string; port: number; from: string }]
  'visitor-end': [info: { peer: string; port: number; from: string; bytesIn: number; bytesOut: number }]
}

const WIRE_CODE: Partial<Record<string, number>> = {
  TUN_ERR_EXPOSE_DENIED: RelayResetCode.EXPOSE_DENIED,
  TUN_ERR_PORT_UNAVAILABLE: RelayResetCode.PORT_UNAVAILABLE,
  TUN_ERR_SESSION_LIMIT: RelayResetCode.LIMIT,
  TUN_ERR_BAD_REQUEST: RelayResetCode.BAD_REQUEST,
}

export class Exposures extends EventEmitter<ExposuresEvents> {
  readonly book: PortBook<Exposure>
  readonly range: PortRange
  readonly bind: string
  readonly host: string
  readonly #o: ExposeOptions
  readonly #onPolicy = (change: ExposeAllowChange) => this.#recheck(change)
  readonly #hooks: ExposureHooks
  #closed = false

  constructor(options: ExposeOptions) {
    super()
    this.#o = options
    this.range = options.range ?? DEFAULT_EXPOSE_RANGE
    this.bind = options.bind ?? DEFAULT_EXPOSE_BIND
    this.host = options.publicHost ?? advertisedHost(this.bind)
    this.book = new PortBook({ graceMs: options.graceMs, now: options.now })
    options.policy.on?.('change', this.#onPolicy)
    this.#hooks = {
      visitor: (e, from) => this.emit('visitor', { peer: e.peer, port: e.port, from }),
      visitorEnd: (e, from, bytesIn, bytesOut) =>
        this.emit('visitor-end', { peer: e.peer, port: e.port, from, bytesIn, bytesOut }),
      ended: (e, why, err) => {
        this.book.release(e.port, e)
        this.emit('unexpose', { peer: e.peer, port: e.port, why, err })
      },
    }
  }

  /** The live exposures. */
  list(): Exposure[] {
    return [...this.book.held.values()].filter((e) => e.state === 'live' && e.publicPort !== undefined)
  }

  /** Answers one expose request stream from `link`. */
  handle(link: Link, stream: MuxStream, request: ExposeRequest): void {
    stream.on('error', () => {})
    this.#expose(link, stream, request).catch((err: unknown) => {
      const e = isTunnelError(err) ? err : new TunnelError('TUN_ERR_PORT_UNAVAILABLE', describeError(err))
      this.emit('refused', { peer: link.remoteId, port: request.port, err: e })
      refuse(stream, e)
    })
  }

  /** Closes every exposure (the relay is stopping). */
  async close(): Promise<void> {
    this.#closed = true
    this.#o.policy.off?.('change', this.#onPolicy)
    await Promise.all([...this.book.held.values()].map((e) => e.close('relay-closed')))
  }

  async #expose(link: Link, stream: MuxStream, request: ExposeRequest): Promise<void> {
    const peer = link.remoteId
    const grant = this.#o.policy.portsOf(peer)
    if (this.#closed) throw new TunnelError('TUN_ERR_EXPOSE_DENIED', 'the relay is closing')
    if (grant === undefined)
      throw new TunnelError('TUN_ERR_EXPOSE_DENIED', `this relay does not let ${peer} expose public ports`)
    if (request.tls && this.#o.tls === undefined)
      throw new TunnelError(
        'TUN_ERR_EXPOSE_DENIED',
        'this relay has no certificate for TLS public ports (it needs --tls-cert and --tls-key)',
      )
    const check =
      request.port === undefined ? undefined : this.book.check(peer, request.port, grant, this.range)
    const limits = this.#o.limits ?? {}
    const replacing = check?.replaces === undefined ? 0 : 1
    const perPeer = limits.perPeer ?? MAX_EXPOSURES_PER_PEER
    if (this.book.countOf(peer) - replacing >= perPeer)
      throw new TunnelError('TUN_ERR_SESSION_LIMIT', `a peer may hold at most ${perPeer} public ports here`)
    const total = limits.total ?? MAX_PUBLIC_PORTS
    if (this.book.held.size - replacing >= total)
      throw new TunnelError('TUN_ERR_SESSION_LIMIT', `this relay is at its limit of ${total} public ports`)

    const start = Math.floor((this.#o.random ?? Math.random)() * portCount(grant, this.range))
    const ports = check ? [check.port] : this.book.candidates(peer, grant, this.range, start)
    let attempts = 0
    let lastError: unknown
    for (const port of ports) {
      if (attempts++ >= MAX_BIND_ATTEMPTS) break
      const exposure = new Exposure(peer, port, link, stream, this.#hooks)
      const older = this.book.held.get(port)
      this.book.hold(port, exposure)
      if (older !== undefined)
        await older.close(
          'replaced',
          new TunnelError('TUN_ERR_PORT_UNAVAILABLE', 'replaced by a newer exposure of the same peer'),
        )
      try {
        const publicPort = await openPublicPort({
          host: this.bind,
          port,
          tls: request.tls ? this.#o.tls : undefined,
          maxVisitors: limits.visitorsPerExposure ?? PUBLIC_PORT_MAX_VISITORS,
          onVisitor: (socket, from) => exposure.onVisitor(socket, from),
        })
        exposure.start(publicPort)
      } catch (err) {
        this.book.drop(port, exposure)
        lastError = err
        continue
      }
      if (exposure.state === 'closed') return
      if (stream.destroyed || link.closed || this.#closed) {
        await exposure.close(this.#closed ? 'relay-closed' : 'link-closed')
        return
      }
      const reply: ExposeReply = { ok: true, port, host: this.host }
      stream.write(`${JSON.stringify(reply)}\n`)
      this.emit('expose', { peer, port, host: this.host, tls: request.tls === true })
      return
    }
    if (lastError !== undefined) throw lastError
    throw new TunnelError('TUN_ERR_PORT_UNAVAILABLE', `no free port among the ports granted to ${peer}`)
  }

  /** The policy changed: close exposures whose peer or port is no longer granted. */
  #recheck(change: ExposeAllowChange): void {
    const touched = new Set([...change.removed, ...change.changed])
    for (const e of this.book.held.values()) {
      if (!touched.has(e.peer) || e.state !== 'live') continue
      const grant = this.#o.policy.portsOf(e.peer)
      try {
        if (grant === undefined)
          throw new TunnelError(
            'TUN_ERR_EXPOSE_DENIED',
            `${e.peer} was removed from the relay's expose-allow list`,
          )
        this.book.check(e.peer, e.port, grant, this.range)
      } catch (err) {
        void e.close('revoked', err as TunnelError)
      }
    }
  }
}

/** The host to tell visitors when none is configured: the bind address, or for a wildcard bind the widest-scoped interface address. */
function advertisedHost(bind: string): string {
  const hosts = expandAddresses({ kind: 'tcp', host: bind, port: 1 }).flatMap((a) =>
    a.kind === 'unix' ? [] : [a.host],
  )
  for (const scope of ['public', 'local', 'device'] as const) {
    const host = hosts.find((h) => scopeOfHost(h) === scope)
    if (host !== undefined) return host
  }
  return bind
}

/** Writes the refusal line, then resets the stream with the code (the line may be lost; the code is not). */
export function refuse(stream: MuxStream, err: TunnelError): void {
  if (stream.destroyed) return
  const reply: ExposeReply = { ok: false, code: err.code, reason: err.message }
  const code = WIRE_CODE[err.code] ?? RelayResetCode.DENIED
  stream.write(`${JSON.stringify(reply)}\n`, () => stream.reset(code, `${err.code}: ${err.message}`))
}
