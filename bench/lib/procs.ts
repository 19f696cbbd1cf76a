/**
 * Child processes of a benchmark script, none left behind: every process started here is tracked
 * until it exits, and stopping one stops its whole tree (see proctree.ts: sshd and socat fork per
 * connection). {@link stopAll} runs on SIGINT/SIGTERM, and a process `exit` handler SIGKILLs any
 * tree still alive if the script ends another way (an uncaught error, process.exit).
 *
 * Output is drained as it comes (a full pipe would stall the child) and the last lines are kept
 * for error messages.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { processTree } from './proctree.ts'

/** Time between SIGTERM and SIGKILL when stopping a tree. */
export const STOP_GRACE_MS = 2000
/** Lines of each stream kept for error messages. */
const KEPT_LINES = 40

export interface Proc {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>
  /** Settles with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>
  /** The first stdout line (seen already or to come) matching `pattern`; rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** The last lines of stdout and stderr. */
  tail(): string
  /** Stops the process and everything it started (SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}). */
  stop(): Promise<void>
}

const live = new Set<Proc>()
let installed = false

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', () => {
    for (const p of live) killTree(p.pid, 'SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping ${live.size} benchmark processes`)
      void stopAll().finally(() => process.exit(130))
    })
  }
}

function killTree(root: number, signal: NodeJS.Signals): number[] {
  if (root <= 0) return [] // never kill(-1) or kill(0): those mean "every process" and "my group"
  const pids = processTree(root)
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
  return pids
}

/** Starts `cmd args` with piped stdio, tracked until it exits. */
export function startProc(cmd: string, args: string[], options: { cwd?: string; name?: string } = {}): Proc {
  install()
  const name = options.name ?? path.basename(cmd)
  const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  const kept = { stdout: [] as string[], stderr: [] as string[] }
  const waiters = new Set<{ pattern: RegExp; done(line: string | Error): void }>()
  let ended = false
  const tail = (): string =>
    `${name} stdout: ${kept.stdout.join('\n')}\n${name} stderr: ${kept.stderr.join('\n')}`.trim()
  let resolveExit: (outcome: number | string) => void = () => {}
  const exited = new Promise<number | string>((resolve) => (resolveExit = resolve))
  const finish = (outcome: number | string, why: string): void => {
    if (ended) return
    ended = true
    for (const w of waiters) w.done(new Error(`${name} ${why} first\n${tail()}`))
    resolveExit(outcome)
  }
  child.once('close', (code, signal) => finish(code ?? signal ?? 'unknown', `exited (${code ?? signal})`))
  child.once('error', (err) => finish('spawn error', `could not start: ${err.message}`))
  child.stdin.on('error', () => {})
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = ''
    child[stream].setEncoding('utf8').on('data', (text: string) => {
      const parts = (partial + text).split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) {
        kept[stream].push(line)
        if (kept[stream].length > KEPT_LINES) kept[stream].shift()
        if (stream === 'stdout') for (const w of waiters) if (w.pattern.test(line)) w.done(line)
      }
    })
  }
  const proc: Proc = {
    name,
    pid: child.pid ?? -1,
    child,
    exited,
    tail,
    waitFor(pattern, timeoutMs = 15_000) {
      const seen = kept.stdout.find((l) => pattern.test(l))
      if (seen !== undefined) return Promise.resolve(seen)
      if (ended)
        return Promise.reject(new Error(`${name} exited without a line matching ${pattern}\n${tail()}`))
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          done(line: string | Error) {
            clearTimeout(timer)
            waiters.delete(waiter)
            if (line instanceof Error) reject(line)
            else resolve(line)
          },
        }
        const timer = setTimeout(
          () => waiter.done(new Error(`${name}: no line matching ${pattern} in ${timeoutMs} ms\n${tail()}`)),
          timeoutMs,
        )
        waiters.add(waiter)
      })
    },
    async stop() {
      if (!ended) {
        const pids = killTree(proc.pid, 'SIGTERM')
        const timer = setTimeout(() => {
          for (const pid of [...pids, ...processTree(proc.pid)]) {
            try {
              process.kill(pid, 'SIGKILL')
            } catch {
              // gone
            }
          }
        }, STOP_GRACE_MS)
        await exited
        clearTimeout(timer)
      }
      live.delete(proc)
    },
  }
  live.add(proc)
  void exited.then(() => live.delete(proc))
  return proc
}

/** Runs a command to completion (killed after `timeoutMs`); resolves with its exit and output. */
export async function runProc(
  cmd: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startProc(cmd, args)
  p.child.stdin.end()
  let stdout = ''
  let stderr = ''
  p.child.stdout.on('data', (d: string) => (stdout += d))
  p.child.stderr.on('data', (d: string) => (stderr += d))
  const timer = setTimeout(() => void p.stop(), timeoutMs)
  const code = await p.exited
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** Stops every tracked process (and its tree). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()))
}

/** How many tracked processes are still running. */
export function liveCount(): number {
  return live.size
}
