/**
 * Process trees from /proc (Linux): the descendants of a process, and the CPU time a tree has used.
 *
 * Forwarders fork: sshd makes a monitor and a session process per connection (each calling setsid,
 * so process groups do not find them), socat `fork` makes a child per connection, ssh -J starts
 * its ProxyJump `ssh -W` as a child. Parent links (`ppid`) find them all.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second, the unit of the times in /proc/<pid>/stat. */
const TICKS = readTicks()

interface Stat {
  ppid: number
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number
}

function readTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function readStat(pid: number): Stat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined // gone
  }
  // After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17); index = field - 3.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const n = (i: number): number => Number(f[i] ?? 0)
  return { ppid: n(1), ticks: n(11) + n(12) + n(13) + n(14) }
}

function allStats(): Map<number, Stat> {
  const stats = new Map<number, Stat>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = readStat(Number(name))
    if (s) stats.set(Number(name), s)
  }
  return stats
}

function treeOf(roots: number[], stats: Map<number, Stat>): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid])
  const out: number[] = []
  const queue = roots.filter((r) => stats.has(r))
  while (queue.length > 0) {
    const pid = queue.shift() as number
    out.push(pid)
    queue.push(...(children.get(pid) ?? []))
  }
  return out
}

/** `root` and every process below it (those alive now). */
export function processTree(root: number): number[] {
  return treeOf([root], allStats())
}

/**
 * CPU seconds (user + system) used so far by the trees under `roots`, counting children that have
 * exited and been reaped (their time moves into the parent's cutime/cstime, so the sum only grows).
 * Take it before and after a run; the difference is the run's CPU.
 */
export function cpuSeconds(roots: number[]): number {
  const stats = allStats()
  let ticks = 0
  for (const pid of treeOf(roots, stats)) ticks += stats.get(pid)?.ticks ?? 0
  return ticks / TICKS
}
