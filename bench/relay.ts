/**
 * npm run bench:relay — a relayed burrow tunnel against the tools people would use instead, in one
 * run on loopback, every path ending at the same targets on 127.0.0.1 (bench/lib/topologies.ts):
 *
 *   tcp         straight to the target (the ceiling)
 *   ssh-L       ssh -L through one sshd
 *   ssh-J       ssh -J through a jump sshd to a second sshd: the same shape as burrow's
 *               client -> relay -> server peer, encrypted end to end and on the client's hop
 *   socat-2hop  two socat forwarders, no encryption (what the relay hop costs without crypto)
 *   burrow      burrow open -> burrow relay -> burrow serve, the CLI as a user runs it
 *
 * Figures, each taken RUNS times (default 3), the runs of all paths interleaved so that noise on
 * the VM spreads over all of them; the table gives the median, a second table the spread:
 *
 *   single stream        iperf3 -c -t 5 through the path: bytes the iperf3 server received / time
 *   64 B req/resp        p50 and p99 of 10,000 round trips (after 1,000 warm-up) on one connection
 *   new connections      connect + 1-byte round trip + close, one after another, for 3 s or 500
 *   relay CPU            CPU-seconds of the middle hop's processes (burrow relay, the jump sshd's
 *                        tree, the second socat) per GB during the throughput runs (/proc)
 *
 * and a table of CPU by role (entry: what the client connects to; relay; exit: what connects to the
 * target), per GB, per round trip and per new connection, read from /proc around each run. Ratios
 * are burrow/ssh-J and burrow/ssh-L. BENCH_RUNS, BENCH_IPERF_SECONDS and BENCH_ROUNDS shorten a
 * trial run; BENCH_BURROW_NODE_ARGS profiles the burrow processes (bench/lib/burrow-cli.ts). Every process started is stopped at the
 * end, on failure and on SIGINT too; the whole run is bounded by BENCH_RELAY_LIMIT_S (default 900).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectionRate, iperf, requestResponse, waitForEcho } from './lib/figures.ts'
import { HOST, withPort } from './lib/ports.ts'
import { liveCount, startProc, stopAll, type Proc } from './lib/procs.ts'
import { SSHD, sshKey } from './lib/sshd.ts'
import { fmt, machine, median, percentile, printTable, renderTable, type Row } from './lib/stats.ts'
import {
  ROLES,
  burrowPath,
  cpuDuring,
  socatPath,
  sshJPath,
  sshLPath,
  tcpPath,
  type Role,
  type RoleCpu,
  type Targets,
  type Topology,
} from './lib/topologies.ts'

const env = process.env
const RUNS = Number(env.BENCH_RUNS ?? 3)
const IPERF_SECONDS = Number(env.BENCH_IPERF_SECONDS ?? 5)
const ROUNDS = Number(env.BENCH_ROUNDS ?? 10_000)
const WARMUP = 1000
const CONNECT_MS = 3000
const CONNECT_MAX = 500
const LIMIT_MS = Number(env.BENCH_RELAY_LIMIT_S ?? 900) * 1000
const TOOLS = ['ssh', 'ssh-keygen', 'iperf3', 'socat']

export const RELAY_VARIANTS = ['tcp', 'ssh-L', 'ssh-J', 'socat-2hop', 'burrow']
export const RELAY_RATIOS: Array<[string, string]> = [
  ['burrow', 'ssh-J'],
  ['burrow', 'ssh-L'],
]

/** A figure's runs per path. */
type Samples = Record<string, number[]>

interface Figure {
  figure: string
  unit: string
  samples: Samples
}

export interface RelayResults {
  /** Medians of the main figures. */
  rows: Row[]
  /** The same figures as `min-max` of the runs, per path. */
  spread: Array<{ figure: string; unit: string; values: Record<string, string> }>
  /** Median CPU by role: seconds per GB, microseconds per round trip and per new connection. */
  cpu: Row[]
  /** Wall time of the whole benchmark. */
  seconds: number
  /** 1-minute load average before and after (other work on the machine skews the figures). */
  load: [number, number]
}

const progress = (text: string): boolean => process.stderr.write(`relay bench: ${text}\n`)

function add(f: Figure, path: string, value: number): void {
  ;(f.samples[path] ??= []).push(value)
}

function toRow(f: Figure): Row {
  const values: Record<string, number> = {}
  for (const [p, xs] of Object.entries(f.samples)) values[p] = median(xs)
  return { figure: f.figure, unit: f.unit, values }
}

function toSpread(f: Figure): RelayResults['spread'][number] {
  const values: Record<string, string> = {}
  for (const [p, xs] of Object.entries(f.samples))
    values[p] = `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`
  return { figure: f.figure, unit: f.unit, values }
}

function missingTools(): string[] {
  const missing = TOOLS.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  try {
    execFileSync(SSHD, ['-V'], { stdio: 'ignore' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') missing.push(SSHD)
  }
  return missing
}

async function startTargets(): Promise<{ targets: Targets; procs: Proc[] }> {
  const iperfServer = await withPort(async (port) => {
    const p = startProc('iperf3', ['-s', '-p', String(port), '-B', HOST, '--forceflush'], {
      name: 'iperf3 -s',
    })
    try {
      await p.waitFor(/Server listening/)
    } catch (err) {
      await p.stop()
      throw err
    }
    return { proc: p, port }
  })
  const script = fileURLToPath(new URL('./relay-target.ts', import.meta.url))
  const echo = startProc(process.execPath, ['--import', 'tsx', script], { name: 'echo target' })
  const line = await echo.waitFor(/"port"/)
  return {
    targets: { iperf: iperfServer.port, echo: (JSON.parse(line) as { port: number }).port },
    procs: [iperfServer.proc, echo],
  }
}

/** Sets up every path, measures, and stops everything it started (also when a step fails). */
export async function runRelayBench(): Promise<RelayResults> {
  const missing = missingTools()
  if (missing.length > 0) throw new Error(`the relay bench needs ${missing.join(', ')}: run .ci/run`)
  const began = performance.now()
  const loadBefore = os.loadavg()[0] ?? 0
  const watchdog = setTimeout(() => {
    console.error(`relay bench: still running after ${LIMIT_MS / 1000} s, stopping`)
    void stopAll().finally(() => process.exit(1))
  }, LIMIT_MS)
  watchdog.unref()
  const dir = mkdtempSync(path.join(tmpdir(), 'burrow-bench-relay-'))
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  process.on('exit', removeDir) // SIGINT and the watchdog end the process without the finally below
  const paths: Topology[] = []
  const targetProcs: Proc[] = []
  try {
    const clientKey = path.join(dir, 'client_ed25519')
    await sshKey(clientKey)
    const { targets, procs } = await startTargets()
    targetProcs.push(...procs)
    const work = { dir, clientKey }
    paths.push(tcpPath(targets))
    paths.push(await sshLPath(work, targets))
    paths.push(await sshJPath(work, targets))
    paths.push(await socatPath(targets))
    paths.push(await burrowPath(work, targets))
    for (const p of paths) {
      await waitForEcho(p.ports.echo)
      await iperf(p.ports.iperf, 1) // warm-up: JIT, windows, the path's session
    }
    progress(`paths up (${paths.map((p) => p.name).join(', ')}), measuring`)
    const results = await measure(paths)
    const load: [number, number] = [loadBefore, os.loadavg()[0] ?? 0]
    return { ...results, seconds: (performance.now() - began) / 1000, load }
  } finally {
    clearTimeout(watchdog)
    for (const p of paths.reverse()) await p.stop()
    for (const p of targetProcs) await p.stop()
    await stopAll()
    if (liveCount() > 0) console.error(`relay bench: ${liveCount()} processes did not stop`)
    process.off('exit', removeDir)
    removeDir()
  }
}

type CpuFigures = Record<Role | 'all', Figure>

const fig = (figure: string, unit: string): Figure => ({ figure, unit, samples: {} })

function cpuFigures(per: string, unit: string): CpuFigures {
  const names = [...ROLES, 'all'] as const
  return Object.fromEntries(
    names.map((r) => [r, fig(`${r === 'all' ? 'all forwarders' : r} CPU per ${per}`, unit)]),
  ) as CpuFigures
}

/** Adds one run's CPU by role, divided by `amount` (GB, round trips, connections) and times `scale`. */
function addCpu(figs: CpuFigures, path: string, cpu: RoleCpu, amount: number, scale: number): void {
  let total: number | undefined
  for (const role of ROLES) {
    const seconds = cpu[role]
    if (seconds === undefined) continue
    add(figs[role], path, (seconds / amount) * scale)
    total = (total ?? 0) + seconds
  }
  if (total !== undefined) add(figs.all, path, (total / amount) * scale)
}

async function measure(paths: Topology[]): Promise<Omit<RelayResults, 'seconds' | 'load'>> {
  const single = fig('single stream', 'MB/s')
  const p50 = fig('64 B req/resp p50', 'us')
  const p99 = fig('64 B req/resp p99', 'us')
  const conns = fig('new connections', 'conn/s')
  const perGb = cpuFigures('GB', 'CPU-s')
  const perRound = cpuFigures('round trip', 'CPU-us')
  const perConn = cpuFigures('connection', 'CPU-us')

  for (let run = 1; run <= RUNS; run++) {
    for (const p of paths) {
      const { result: r, cpu } = await cpuDuring(p, () => iperf(p.ports.iperf, IPERF_SECONDS))
      add(single, p.name, r.bytes / r.seconds / 1e6)
      addCpu(perGb, p.name, cpu, r.bytes / 1e9, 1)
      progress(`run ${run}/${RUNS} single stream ${p.name}: ${fmt(r.bytes / r.seconds / 1e6)} MB/s`)
    }
  }
  for (let run = 1; run <= RUNS; run++) {
    for (const p of paths) {
      const { result: times, cpu } = await cpuDuring(p, () => requestResponse(p.ports.echo, ROUNDS, WARMUP))
      const [a, b] = [percentile(times, 50), percentile(times, 99)]
      add(p50, p.name, a)
      add(p99, p.name, b)
      addCpu(perRound, p.name, cpu, ROUNDS + WARMUP, 1e6)
      progress(`run ${run}/${RUNS} req/resp ${p.name}: p50 ${fmt(a)} us, p99 ${fmt(b)} us`)
    }
  }
  for (let run = 1; run <= RUNS; run++) {
    for (const p of paths) {
      const { result: r, cpu } = await cpuDuring(p, () =>
        connectionRate(p.ports.echo, CONNECT_MS, CONNECT_MAX),
      )
      add(conns, p.name, r.count / r.seconds)
      addCpu(perConn, p.name, cpu, r.count, 1e6)
      progress(`run ${run}/${RUNS} new connections ${p.name}: ${fmt(r.count / r.seconds)}/s`)
    }
  }
  const relayCpu = { ...perGb.relay, figure: 'relay CPU per GB' }
  const main = [single, p50, p99, conns, relayCpu]
  const cpu = [perGb, perRound, perConn].flatMap((f) => [...ROLES.map((r) => f[r]), f.all])
  const spread = [...main, ...cpu.filter((f) => f !== perGb.relay)].map(toSpread)
  return { rows: main.map(toRow), spread, cpu: cpu.map(toRow) }
}

export function printRelayResults(r: RelayResults): void {
  printTable(r.rows, RELAY_VARIANTS, RELAY_RATIOS)
  console.log(`\nCPU by role (median of ${RUNS}), from /proc, during the runs of the figures above.`)
  console.log('entry: ssh client (+ its ProxyJump ssh), first socat, burrow open; relay: jump sshd,')
  console.log('second socat, burrow relay; exit: target sshd, burrow serve (each with its children).')
  printTable(r.cpu, RELAY_VARIANTS, RELAY_RATIOS)
  console.log(`\nspread (min-max of ${RUNS} runs):`)
  console.log(
    renderTable(
      ['figure', ...RELAY_VARIANTS],
      r.spread.map((s) => [`${s.figure} (${s.unit})`, ...RELAY_VARIANTS.map((v) => s.values[v] ?? '-')]),
    ),
  )
  const [before, after] = r.load.map((l) => l.toFixed(1))
  console.log(
    `\nrelay bench took ${r.seconds.toFixed(0)} s; 1-min load average ${before} before, ${after} after`,
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`burrow relay benchmark: ${machine()}`)
  try {
    printRelayResults(await runRelayBench())
    process.exit(0)
  } catch (err) {
    console.error(err)
    process.exit(1)
  }
}
