/**
 * burrow's own daemons as real CLI processes for end-to-end tests: a relay, a server peer
 * (`burrow serve`) and a client listener (`burrow open`), each run with `--json` from its own temp
 * data dir, plus one-shot `burrow connect` and `burrow keygen`. Every process goes through
 * processes.ts, so it is tracked and killed if a test forgets it.
 *
 * JSON events: each daemon prints one JSON object per stdout line. The `ready` line is not always
 * the first (a fresh data dir first prints `identity-created`), so the start functions wait for the
 * `ready` event itself. {@link BurrowDaemon.waitForEvent} waits for a later event, optionally only
 * among those printed after a point (`since`, an index into {@link BurrowDaemon.events}), so a test
 * can ask for "the next relay ready after the restart" rather than the first one ever printed.
 *
 * Temp dirs made here (data dirs, key dirs) are removed when the test process exits; a relay's
 * data dir outlives the relay, so a restart with the same `dataDir` keeps its key and id.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BURROW_BIN } from './cli.ts'
import { run, startProcess, type ExitInfo, type RunResult, type StartedProcess } from './processes.ts'

/** Bounds a daemon's start: tsx compiles the sources on the first run, which takes about a second. */
export const DAEMON_READY_TIMEOUT_MS = 15_000
/** Default bound of {@link BurrowDaemon.waitForEvent}. */
export const EVENT_TIMEOUT_MS = 10_000
/** Default bound of {@link runConnect}. */
export const CONNECT_RUN_TIMEOUT_MS = 30_000

/** One JSON line printed by a daemon. */
export interface JsonEvent {
  event: string
  [field: string]: unknown
}

/** What an event must match: every given field equal, or a predicate. */
export type EventMatch = Partial<Record<string, unknown>> | ((e: JsonEvent) => boolean)

export interface WaitForEventOptions {
  /** Only events at this index of {@link BurrowDaemon.events} or later count (default 0). */
  since?: number
  /** Default {@link EVENT_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** A running burrow daemon and its JSON output. */
export interface BurrowDaemon {
  readonly process: StartedProcess
  readonly dataDir: string
  /** The parsed `ready` event. */
  readonly ready: JsonEvent
  /** Every JSON event printed so far, in order. */
  events(): readonly JsonEvent[]
  /** Resolves with the first event (from `since` on) that matches; rejects on timeout or exit. */
  waitForEvent(match: EventMatch, options?: WaitForEventOptions): Promise<JsonEvent>
  /** SIGTERM (SIGKILL after a grace period), resolved once the process has exited. */
  stop(): Promise<ExitInfo>
  /** SIGKILL, resolved once the process has exited: a crash, with no chance to clean up. */
  kill(): Promise<ExitInfo>
}

export interface RelayDaemon extends BurrowDaemon {
  readonly id: string
  /** The relay's device-scope address, `tcp:127.0.0.1:PORT~noise:<id>`. */
  readonly address: string
  readonly port: number
}

export interface ServeDaemon extends BurrowDaemon {
  readonly id: string
  /** The SERVER address clients use, `...~noise:<relay>~tunnel:<id>`. */
  readonly address: string
  /** Resolves with the next `relay` `ready` event from `since` on (the first one by default). */
  relayReady(options?: WaitForEventOptions): Promise<JsonEvent>
}

export interface OpenDaemon extends BurrowDaemon {
  /** The local port `burrow open` listens on (127.0.0.1). */
  readonly port: number
}

const dirs = new Set<string>()
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A fresh temp dir, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `burrow-e2e-${prefix}-`))
  dirs.add(dir)
  return dir
}

/** Starts `burrow ...args` and waits for its JSON `ready` event. */
async function startDaemon(args: string[], dataDir: string): Promise<BurrowDaemon> {
  const proc = await startProcess(process.execPath, [BURROW_BIN, ...args], {
    readyLine: /^\{"event":"ready"|^burrow \w+: /,
    readyTimeoutMs: DAEMON_READY_TIMEOUT_MS,
  })
  const events: JsonEvent[] = []
  const waiters = new Set<() => void>()
  let scanned = 0
  const scan = (): void => {
    const lines = proc.lines('stdout')
    for (; scanned < lines.length; scanned++) {
      const line = lines[scanned] ?? ''
      if (!line.startsWith('{')) continue
      try {
        events.push(JSON.parse(line) as JsonEvent)
      } catch {
        // not a JSON event: ignore it
      }
    }
    for (const wake of waiters) wake()
  }
  // processes.ts splits lines in its own 'data' listener, registered first: by the time this one
  // runs, the chunk's complete lines are in proc.lines().
  proc.child.stdout?.on('data', scan)
  let exited: ExitInfo | undefined
  void proc.exited.then((info) => {
    exited = info
    scan()
  })
  scan()
  const ready = events.find((e) => e.event === 'ready')
  if (ready === undefined) {
    await proc.stop('SIGKILL')
    throw new Error(`burrow ${args[0]} failed to start:\n${proc.stderr()}\n${proc.stdout()}`)
  }
  const matches = (match: EventMatch, e: JsonEvent): boolean =>
    typeof match === 'function' ? match(e) : Object.entries(match).every(([k, v]) => e[k] === v)
  const waitForEvent = (match: EventMatch, options: WaitForEventOptions = {}): Promise<JsonEvent> => {
    const timeoutMs = options.timeoutMs ?? EVENT_TIMEOUT_MS
    const describe = (): string =>
      `${typeof match === 'function' ? 'a matching event' : JSON.stringify(match)}` +
      `\nstdout tail:\n${proc.lines('stdout').slice(-10).join('\n')}\nstderr tail:\n${proc.lines('stderr').slice(-10).join('\n')}`
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.slice(options.since ?? 0).find((e) => matches(match, e))
        if (found !== undefined) done(found)
        else if (exited !== undefined)
          done(new Error(`burrow ${args[0]} exited (${exited.code ?? exited.signal}) before ${describe()}`))
      }
      const done = (result: JsonEvent | Error): void => {
        clearTimeout(timer)
        waiters.delete(check)
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      const timer = setTimeout(
        () => done(new Error(`burrow ${args[0]}: no event within ${timeoutMs} ms matching ${describe()}`)),
        timeoutMs,
      )
      waiters.add(check)
      check()
    })
  }
  return {
    process: proc,
    dataDir,
    ready,
    events: () => events,
    waitForEvent,
    stop: () => proc.stop('SIGTERM'),
    kill: () => proc.stop('SIGKILL'),
  }
}

export interface RelayOptions {
  /** Default 0 (any free port); give the old port to restart a relay where it was. */
  port?: number
  /** Default a fresh temp dir; give the old one to restart a relay with the same key. */
  dataDir?: string
  /** More flags. */
  args?: string[]
}

/** Starts `burrow relay --listen tcp:127.0.0.1:PORT --data-dir DIR --json`. */
export async function startRelay(options: RelayOptions = {}): Promise<RelayDaemon> {
  const dataDir = options.dataDir ?? tempDir('relay')
  const listen = `tcp:127.0.0.1:${options.port ?? 0}`
  const daemon = await startDaemon(
    ['relay', '--listen', listen, '--data-dir', dataDir, '--json', ...(options.args ?? [])],
    dataDir,
  )
  const addresses = daemon.ready.addresses as { device?: string } | undefined
  const address = addresses?.device ?? ''
  const port = Number(/^tcp:127\.0\.0\.1:(\d+)~noise:/.exec(address)?.[1])
  if (!Number.isInteger(port) || port === 0) {
    await daemon.kill()
    throw new Error(`burrow relay printed no device address: ${JSON.stringify(daemon.ready)}`)
  }
  return { ...daemon, id: String(daemon.ready.id), address, port }
}

export interface ServeOptions {
  /** Relay address(es) to announce at. */
  relay: string | string[]
  /** `--expose-tcp HOST:PORT`. */
  exposeTcp?: string
  /** `--allow-tcp` rules. */
  allowTcp?: string[]
  /** `--allow-client` ids. */
  allowClients?: string[]
  allowClientsFile?: string
  maxSessions?: number
  /** More flags. */
  args?: string[]
  /** Resolve only once every relay has announced this peer (default true). */
  waitRelayReady?: boolean
}

/** Starts `burrow serve ... --json` and (by default) waits until it is announced at its relay(s). */
export async function startServe(options: ServeOptions): Promise<ServeDaemon> {
  const dataDir = tempDir('serve')
  const relays = typeof options.relay === 'string' ? [options.relay] : options.relay
  const args = ['serve', ...relays.flatMap((r) => ['--relay', r])]
  if (options.exposeTcp !== undefined) args.push('--expose-tcp', options.exposeTcp)
  for (const rule of options.allowTcp ?? []) args.push('--allow-tcp', rule)
  for (const id of options.allowClients ?? []) args.push('--allow-client', id)
  if (options.allowClientsFile !== undefined) args.push('--allow-clients-file', options.allowClientsFile)
  if (options.maxSessions !== undefined) args.push('--max-sessions', String(options.maxSessions))
  args.push('--data-dir', dataDir, '--json', ...(options.args ?? []))
  const daemon = await startDaemon(args, dataDir)
  const relayReady = (o: WaitForEventOptions = {}): Promise<JsonEvent> =>
    daemon.waitForEvent({ event: 'relay', state: 'ready' }, o)
  const serve: ServeDaemon = {
    ...daemon,
    id: String(daemon.ready.id),
    address: String(daemon.ready.address),
    relayReady,
  }
  if (options.waitRelayReady ?? true) {
    for (const relay of relays) {
      await daemon.waitForEvent({ event: 'relay', state: 'ready', relay }).catch(async (err: unknown) => {
        await daemon.kill()
        throw err
      })
    }
  }
  return serve
}

export interface OpenOptions {
  /** The SERVER address. */
  server: string
  /** The client's key file. */
  key: string
  /** `--target tcp://host:port`; default the server's --expose-tcp. */
  target?: string
  /** More flags. */
  args?: string[]
}

/** Starts `burrow open SERVER --listen 127.0.0.1:0 --key FILE --json`; the port is in the ready event. */
export async function startOpen(options: OpenOptions): Promise<OpenDaemon> {
  const dataDir = tempDir('open')
  const args = ['open', options.server, '--listen', '127.0.0.1:0', '--key', options.key]
  if (options.target !== undefined) args.push('--target', options.target)
  args.push('--data-dir', dataDir, '--json', ...(options.args ?? []))
  const daemon = await startDaemon(args, dataDir)
  const port = Number(/^127\.0\.0\.1:(\d+)$/.exec(String(daemon.ready.listen))?.[1])
  if (!Number.isInteger(port) || port === 0) {
    await daemon.kill()
    throw new Error(`burrow open printed no listen port: ${JSON.stringify(daemon.ready)}`)
  }
  return { ...daemon, port }
}

/** A client identity made by `burrow keygen`. */
export interface ClientKey {
  /** The key file (mode 0600). */
  key: string
  id: string
}

/** Runs `burrow keygen --output <dir>/<name>.key` and returns the file and the printed id. */
export async function makeClientKey(dir: string, name = 'client'): Promise<ClientKey> {
  const key = path.join(dir, `${name}.key`)
  const r = await run(process.execPath, [BURROW_BIN, 'keygen', '--output', key], { timeoutMs: 30_000 })
  const id = r.stdout.toString('utf8').trim()
  if (r.code !== 0 || !/^[a-z2-7]{52}$/.test(id)) throw new Error(`burrow keygen failed: ${r.stderr}`)
  return { key, id }
}

/** The argv of `burrow connect SERVER --stdio --key FILE [--target T]`, node and script included. */
export function connectArgv(server: string, key: string, target?: string): string[] {
  return [
    process.execPath,
    BURROW_BIN,
    'connect',
    server,
    '--stdio',
    '--key',
    key,
    ...(target === undefined ? [] : ['--target', target]),
  ]
}

/** {@link connectArgv} as a shell command line, for OpenSSH's ProxyCommand (every word quoted). */
export function proxyCommand(server: string, key: string, target?: string): string {
  return connectArgv(server, key, target)
    .map((w) => `'${w.replace(/'/g, `'\\''`)}'`)
    .join(' ')
}

export interface RunConnectOptions {
  target?: string
  /** Written to stdin, which is then closed. */
  input?: string | Buffer
  /** Default {@link CONNECT_RUN_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** Runs `burrow connect ... --stdio` to completion. */
export function runConnect(server: string, key: string, options: RunConnectOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = connectArgv(server, key, options.target)
  return run(cmd as string, args, {
    input: options.input,
    timeoutMs: options.timeoutMs ?? CONNECT_RUN_TIMEOUT_MS,
  })
}

/** Starts `burrow connect ... --stdio` as a long-lived process: the test writes stdin and reads stdout. */
export async function spawnConnect(server: string, key: string, target?: string): Promise<StartedProcess> {
  const [cmd, ...args] = connectArgv(server, key, target)
  return startProcess(cmd as string, args)
}
