/**
 * Child processes for integration tests: long-running servers ({@link startProcess}) and one-shot
 * commands ({@link run}), with bounded waits and no leaks.
 *
 * Leak policy: every child either helper spawns is tracked until it exits. Tests should still
 * `t.after(() => p.stop())` each server, but a failing test that skips its cleanup is covered
 * twice: a root `after` hook of the test file stops (SIGTERM, then SIGKILL after
 * {@link STOP_GRACE_MS}) whatever is left, and a process `exit` handler SIGKILLs survivors if the
 * file ends another way (process.exit, an uncaught error). A SIGKILL of the test process itself
 * cannot be caught; children then stay until they exit themselves.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import path from 'node:path'
import { after, type TestContext } from 'node:test'

/** Default time for a started process to print its ready line. */
export const READY_TIMEOUT_MS = 10_000
/** Default time {@link StartedProcess.waitFor} waits for a line. */
export const WAIT_FOR_TIMEOUT_MS = 10_000
/** Time between the polite signal and SIGKILL in `stop()`. */
export const STOP_GRACE_MS = 2_000
/** Text kept per stream of a started process; older lines are dropped past it. */
export const MAX_CAPTURED_BYTES = 1024 * 1024
/** Default bound on a {@link run}. */
export const RUN_TIMEOUT_MS = 60_000
/** Bytes a {@link run} may write to stdout before it is killed and the run fails. */
export const RUN_MAX_OUTPUT_BYTES = 64 * 1024 * 1024

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Every child still running, with the promise of its exit. */
const live = new Map<ChildProcess, Promise<ExitInfo>>()
process.on('exit', () => {
  for (const child of live.keys()) child.kill('SIGKILL')
})
after(() => stopAllProcesses())

/** How many tracked children are still running (tests assert it drops back). */
export function liveProcessCount(): number {
  return live.size
}

/** Stops every tracked child (what the root `after` hook does). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live.keys()].map((child) => stopChild(child, 'SIGTERM', STOP_GRACE_MS)))
}

/** Spawns and tracks; resolves once the child runs, rejects if it could not start (ENOENT). */
async function spawnTracked(
  cmd: string,
  args: string[],
  options: SpawnOptions,
): Promise<{ child: ChildProcess; exited: Promise<ExitInfo> }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options })
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    }),
  )
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err) => reject(new Error(`cannot start ${cmd}: ${err.message}`, { cause: err })))
  })
  live.set(child, exited)
  child.on('error', () => {}) // a failed kill(); the exit promise still tells the outcome
  child.stdin?.on('error', () => {}) // EPIPE when a child exits without reading its input
  return { child, exited }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<ExitInfo> {
  const exited = live.get(child)
  if (exited === undefined) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  return exited.finally(() => clearTimeout(timer))
}

export type StreamName = 'stdout' | 'stderr'

export interface StartOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Resolve only once a line (stdout or stderr) matches; the match is in `ready`. */
  readyLine?: RegExp
  /** Default {@link READY_TIMEOUT_MS}. */
  readyTimeoutMs?: number
}

export interface WaitForOptions {
  /** Default {@link WAIT_FOR_TIMEOUT_MS}. */
  timeoutMs?: number
  /** Which stream's lines to match (default both). */
  stream?: StreamName | 'any'
}

/** A running child and its captured output. */
export interface StartedProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** The match of `readyLine`, if one was given. */
  readonly ready: RegExpMatchArray | undefined
  /** Settles when the process exits (never rejects). */
  readonly exited: Promise<ExitInfo>
  /**
   * Resolves with the first line (already printed or still to come) that matches; rejects on
   * timeout or when the output ends first, with the output's tail in the message. Await it (or
   * attach a handler) before awaiting anything else, or its rejection is reported as unhandled.
   */
  waitFor(pattern: RegExp, options?: WaitForOptions): Promise<RegExpMatchArray>
  /** Lines captured so far (at most {@link MAX_CAPTURED_BYTES} of the latest). */
  lines(stream: StreamName): readonly string[]
  stdout(): string
  stderr(): string
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>
}

interface Waiter {
  pattern: RegExp
  stream: StreamName | 'any'
  done(result: RegExpMatchArray | Error): void
}

/** Starts a long-running process with piped stdio, tracked until it exits. */
export async function startProcess(
  cmd: string,
  args: string[],
  options: StartOptions = {},
): Promise<StartedProcess> {
  const { child, exited } = await spawnTracked(cmd, args, { env: options.env, cwd: options.cwd })
  const name = path.basename(cmd)
  const captured = { stdout: [] as string[], stderr: [] as string[] }
  const sizes = { stdout: 0, stderr: 0 }
  const waiters = new Set<Waiter>()
  let ended = false
  const tail = (): string =>
    (['stderr', 'stdout'] as const).map((s) => `${s}: ${captured[s].slice(-15).join('\n')}`).join('\n')

  const onLine = (stream: StreamName, line: string): void => {
    captured[stream].push(line)
    sizes[stream] += line.length + 1
    while (sizes[stream] > MAX_CAPTURED_BYTES) sizes[stream] -= captured[stream].shift()!.length + 1
    for (const w of waiters) {
      const match = w.stream === 'any' || w.stream === stream ? w.pattern.exec(line) : null
      if (match) w.done(match)
    }
  }
  let open = 2
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = ''
    const source = child[stream]!.setEncoding('utf8')
    source.on('data', (text: string) => {
      const parts = (partial + text).split(/\r?\n/)
      partial = parts.pop()!
      for (const line of parts) onLine(stream, line)
      if (partial.length > MAX_CAPTURED_BYTES) {
        onLine(stream, partial.slice(-MAX_CAPTURED_BYTES)) // output without newlines: keep its tail
        partial = ''
      }
    })
    source.on('end', () => {
      if (partial !== '') onLine(stream, partial)
      if (--open > 0) return
      ended = true
      for (const w of waiters) w.done(new Error(`${name} output ended first\n${tail()}`))
    })
  }

  const waitFor = (re: RegExp, opts: WaitForOptions = {}): Promise<RegExpMatchArray> => {
    const pattern = new RegExp(re.source, re.flags.replace(/[gy]/g, '')) // no lastIndex state
    const stream = opts.stream ?? 'any'
    for (const s of ['stdout', 'stderr'] as const) {
      if (stream !== 'any' && stream !== s) continue
      for (const line of captured[s]) {
        const match = pattern.exec(line)
        if (match) return Promise.resolve(match)
      }
    }
    if (ended) return Promise.reject(new Error(`${name} ended without a line matching ${pattern}\n${tail()}`))
    const timeoutMs = opts.timeoutMs ?? WAIT_FOR_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pattern,
        stream,
        done(result) {
          clearTimeout(timer)
          waiters.delete(waiter)
          if (result instanceof Error) reject(result)
          else resolve(result)
        },
      }
      const timer = setTimeout(() => {
        waiter.done(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms\n${tail()}`))
      }, timeoutMs)
      waiters.add(waiter)
    })
  }

  let ready: RegExpMatchArray | undefined
  if (options.readyLine) {
    try {
      ready = await waitFor(options.readyLine, { timeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS })
    } catch (err) {
      await stopChild(child, 'SIGKILL', 0)
      throw err
    }
  }
  return {
    child,
    pid: child.pid!,
    ready,
    exited,
    waitFor,
    lines: (stream) => captured[stream],
    stdout: () => captured.stdout.join('\n'),
    stderr: () => captured.stderr.join('\n'),
    stop: (signal = 'SIGTERM', graceMs = STOP_GRACE_MS) => stopChild(child, signal, graceMs),
  }
}

export interface RunOptions {
  /** Written to stdin, which is then closed (closed at once when absent). */
  input?: string | Buffer
  /** Kills the command (SIGKILL) and rejects after this long (default {@link RUN_TIMEOUT_MS}). */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Default {@link RUN_MAX_OUTPUT_BYTES}; past it the command is killed and the run rejects. */
  maxOutputBytes?: number
}

export interface RunResult extends ExitInfo {
  /** Raw bytes: binary-safe (e.g. `ssh host cat file`). */
  stdout: Buffer
  stderr: string
}

/** Runs a command to completion. A non-zero exit resolves (check `code`); only timeouts, overflow and spawn errors reject. */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { child } = await spawnTracked(cmd, args, { env: options.env, cwd: options.cwd })
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS
  const maxOutput = options.maxOutputBytes ?? RUN_MAX_OUTPUT_BYTES
  const out: Buffer[] = []
  let outBytes = 0
  let stderr = ''
  let failure: Error | undefined
  const fail = (message: string): void => {
    failure ??= new Error(`${cmd} ${args.join(' ')}: ${message}\nstderr: ${stderr.slice(-2000)}`)
    child.kill('SIGKILL')
    child.stdout!.destroy() // so 'close' comes even if a grandchild still holds the pipes
    child.stderr!.destroy()
  }
  child.stdout!.on('data', (chunk: Buffer) => {
    outBytes += chunk.length
    if (outBytes > maxOutput) fail(`more than ${maxOutput} bytes on stdout`)
    else out.push(chunk)
  })
  child
    .stderr!.setEncoding('utf8')
    .on('data', (text: string) => (stderr = (stderr + text).slice(-MAX_CAPTURED_BYTES)))
  const timer = setTimeout(() => fail(`still running after ${timeoutMs} ms`), timeoutMs)
  child.stdin!.end(options.input ?? '')
  const [code, signal] = (await new Promise((resolve) =>
    child.once('close', (...info) => resolve(info)),
  )) as [number | null, NodeJS.Signals | null]
  clearTimeout(timer)
  if (failure) throw failure
  return { code, signal, stdout: Buffer.concat(out), stderr }
}

/** Directories searched besides $PATH: sshd lives in /usr/sbin, which a normal user's PATH may lack. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/** The absolute path of an executable named `name`, or undefined when it is not installed. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SBIN_DIRS]
  for (const dir of dirs) {
    const candidate = path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Skips the test when any of `names` is not installed, with a message naming them; returns true
 * when it skipped (`if (skipUnlessInstalled(t, ['iperf3'])) return`).
 */
export function skipUnlessInstalled(t: TestContext, names: string[]): boolean {
  const missing = names.filter((n) => findBinary(n) === undefined)
  if (missing.length === 0) return false
  t.skip(`${missing.join(', ')} not installed: run .ci/run`)
  return true
}
