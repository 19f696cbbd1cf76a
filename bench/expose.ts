/**
 * npm run bench:expose — a public port on a burrow relay (`burrow expose`) against `ssh -R`, in one
 * run on loopback, every path ending at the same targets on 127.0.0.1:
 *
 *   tcp     straight to the target (the ceiling)
 *   ssh-R   visitor -> sshd's remote-forwarded port -> ssh connection -> ssh -N -R client -> target
 *   burrow  visitor -> burrow relay's public port -> hop link (Noise) -> burrow expose -> target
 *
 * Both are the same shape: the visitor runs nothing, the middle process (sshd / burrow relay) owns
 * the public port and forwards over one encrypted connection to the process next to the service.
 *
 * Figures, each taken RUNS times (default 3) with the paths interleaved; the table gives the median:
 *
 *   single stream   iperf3 -c -t 5 through the public port (bytes received / time)
 *   64 B req/resp   p50 and p99 of 10,000 round trips (after 1,000 warm-up) on one connection
 *   relay CPU       CPU-seconds of the public-port process (sshd's tree, burrow relay) per GB
 *
 * The targets: burrow >= 0.5x ssh -R throughput and <= 1.5x its p50; the script says
 * whether they are met. BENCH_RUNS, BENCH_IPERF_SECONDS and BENCH_ROUNDS shorten a trial run.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { keygen, startBurrow } from './lib/burrow-cli.ts'
import { iperf, requestResponse, waitForEcho } from './lib/figures.ts'
import { HOST, waitForPort, withPort, withPorts } from './lib/ports.ts'
import { startProc, stopAll, type Proc } from './lib/procs.ts'
import { SSHD, sshConfig, sshKey, startSshd } from './lib/sshd.ts'
import { fmt, machine, median, percentile, printTable, renderTable, type Row } from './lib/stats.ts'
import { cpuDuring, tcpPath, type Targets, type Topology } from './lib/topologies.ts'

const env = process.env
const RUNS = Number(env.BENCH_RUNS ?? 3)
const IPERF_SECONDS = Number(env.BENCH_IPERF_SECONDS ?? 5)
const ROUNDS = Number(env.BENCH_ROUNDS ?? 10_000)
const WARMUP = 1000
/** The targets, as ratios burrow/ssh-R. */
export const TARGET_THROUGHPUT_RATIO = 0.5
export const TARGET_P50_RATIO = 1.5

export const EXPOSE_VARIANTS = ['tcp', 'ssh-R', 'burrow']
export const EXPOSE_RATIOS: Array<[string, string]> = [['burrow', 'ssh-R']]

export interface ExposeResults {
  rows: Row[]
  /** min-max of the runs, per figure and path. */
  spread: Array<{ figure: string; values: Record<string, string> }>
  seconds: number
}

const progress = (text: string): boolean => process.stderr.write(`expose bench: ${text}\n`)

/** Resolves when `ready` does, or rejects when `proc` exits first. */
async function upOrExit(proc: Proc, ready: Promise<void>): Promise<void> {
  const exited = proc.exited.then((code) => {
    throw new Error(`${proc.name} exited (${code}): ${proc.tail()}`)
  })
  exited.catch(() => {})
  await Promise.race([ready, exited])
}

/** `ssh -N -R a:target-iperf -R b:target-echo`: sshd listens on a and b (loopback) for visitors. */
async function sshRPath(dir: string, clientKey: string, targets: Targets): Promise<Topology> {
  const sshd = await startSshd(dir, 'sshr', `${clientKey}.pub`)
  try {
    const cfg = sshConfig(path.join(dir, 'ssh_config_R'), clientKey, [{ alias: 'sshr', port: sshd.port }])
    const ssh = await withPorts(2, async ([a, b]) => {
      const forwards = [`${a}:${HOST}:${targets.iperf}`, `${b}:${HOST}:${targets.echo}`]
      const proc = startProc('ssh', ['-F', cfg, '-N', '-R', forwards[0]!, '-R', forwards[1]!, 'sshr'], {
        name: 'ssh -R',
      })
      try {
        await upOrExit(
          proc,
          waitForPort(a!, 15_000).then(() => waitForEcho(b!)),
        )
      } catch (err) {
        await proc.stop()
        throw err
      }
      return { proc, ports: { iperf: a!, echo: b! } }
    })
    return {
      name: 'ssh-R',
      ports: ssh.ports,
      roles: { entry: [], relay: [sshd.proc.pid], exit: [ssh.proc.pid] },
      stop: async () => {
        await ssh.proc.stop()
        await sshd.proc.stop()
      },
    }
  } catch (err) {
    await sshd.proc.stop()
    throw err
  }
}

/** `burrow relay --expose-allow` and one `burrow expose --local` per target. */
async function burrowExposePath(dir: string, targets: Targets): Promise<Topology> {
  const procs: Proc[] = []
  const key = (name: string) => path.join(dir, `${name}.key`)
  try {
    await keygen(key('relay'))
    const peer = await keygen(key('peer'))
    const allow = path.join(dir, 'expose-allow')
    writeFileSync(allow, `${peer} *\n`)
    const relay = await startBurrow(
      ['relay', '--key', key('relay'), '--listen', `tcp:${HOST}:0`, '--expose-allow', allow],
      'burrow relay',
    )
    procs.push(relay.proc)
    const relayAddress = (relay.ready.addresses as { device: string }).device
    const expose = async (target: number, name: string) => {
      const e = await startBurrow(
        ['expose', '--relay', relayAddress, '--local', `${HOST}:${target}`, '--key', key('peer')],
        name,
      )
      procs.push(e.proc)
      const line = await e.proc.waitFor(/"event":"exposed"/)
      return { proc: e.proc, port: (JSON.parse(line) as { port: number }).port }
    }
    const iperfExposed = await expose(targets.iperf, 'burrow expose (iperf)')
    const echoExposed = await expose(targets.echo, 'burrow expose (echo)')
    await upOrExit(echoExposed.proc, waitForEcho(echoExposed.port))
    return {
      name: 'burrow',
      ports: { iperf: iperfExposed.port, echo: echoExposed.port },
      roles: { entry: [], relay: [relay.proc.pid], exit: [iperfExposed.proc.pid, echoExposed.proc.pid] },
      stop: async () => {
        for (const p of procs.reverse()) await p.stop()
      },
    }
  } catch (err) {
    for (const p of procs.reverse()) await p.stop()
    throw err
  }
}

/** An iperf3 server and the benchmark echo server (bench/relay-target.ts) on 127.0.0.1. */
async function startTargets(): Promise<{ targets: Targets; procs: Proc[] }> {
  const iperfServer = await withPort(async (port) => {
    const p = startProc('iperf3', ['-s', '-p', String(port), '-B', HOST, '--forceflush'], {
      name: 'iperf3 -s',
    })
    await upOrExit(
      p,
      p.waitFor(/Server listening/).then(() => undefined),
    ).catch(async (err) => {
      await p.stop()
      throw err
    })
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

function requireTools(): void {
  const missing = ['ssh', 'ssh-keygen', 'iperf3'].filter((t) => {
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
  if (missing.length > 0) throw new Error(`the expose bench needs ${missing.join(', ')}: run .ci/run`)
}

/** Sets up the three paths, measures, and stops everything (also when a step fails). */
export async function runExposeBench(): Promise<ExposeResults> {
  requireTools()
  const began = performance.now()
  const dir = mkdtempSync(path.join(tmpdir(), 'burrow-bench-expose-'))
  const paths: Topology[] = []
  const targetProcs: Proc[] = []
  try {
    const clientKey = path.join(dir, 'client_ed25519')
    await sshKey(clientKey)
    const { targets, procs } = await startTargets()
    targetProcs.push(...procs)
    paths.push(
      tcpPath(targets),
      await sshRPath(dir, clientKey, targets),
      await burrowExposePath(dir, targets),
    )
    for (const p of paths) await iperf(p.ports.iperf, 1) // warm-up
    progress(`paths up (${paths.map((p) => p.name).join(', ')}), measuring`)
    const samples: Record<string, Record<string, number[]>> = {}
    const add = (figure: string, name: string, x: number) => ((samples[figure] ??= {})[name] ??= []).push(x)
    for (let run = 1; run <= RUNS; run++) {
      for (const p of paths) {
        const { result: r, cpu } = await cpuDuring(p, () => iperf(p.ports.iperf, IPERF_SECONDS))
        add('single stream (MB/s)', p.name, r.bytes / r.seconds / 1e6)
        if (cpu.relay !== undefined) add('relay CPU per GB (CPU-s)', p.name, cpu.relay / (r.bytes / 1e9))
        const times = await requestResponse(p.ports.echo, ROUNDS, WARMUP)
        add('64 B req/resp p50 (us)', p.name, percentile(times, 50))
        add('64 B req/resp p99 (us)', p.name, percentile(times, 99))
        progress(
          `run ${run}/${RUNS} ${p.name}: ${fmt(r.bytes / r.seconds / 1e6)} MB/s, p50 ${fmt(percentile(times, 50))} us`,
        )
      }
    }
    const rows: Row[] = Object.entries(samples).map(([figure, byPath]) => {
      const m = /^(.*) \((.*)\)$/.exec(figure)
      const values = Object.fromEntries(Object.entries(byPath).map(([n, xs]) => [n, median(xs)]))
      return { figure: m?.[1] ?? figure, unit: m?.[2] ?? '', values }
    })
    const spread = Object.entries(samples).map(([figure, byPath]) => ({
      figure,
      values: Object.fromEntries(
        Object.entries(byPath).map(([n, xs]) => [n, `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`]),
      ),
    }))
    return { rows, spread, seconds: (performance.now() - began) / 1000 }
  } finally {
    for (const p of paths.reverse()) await p.stop()
    for (const p of targetProcs) await p.stop()
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

export function printExposeResults(r: ExposeResults): void {
  printTable(r.rows, EXPOSE_VARIANTS, EXPOSE_RATIOS)
  console.log(`\nspread (min-max of ${RUNS} runs):`)
  console.log(
    renderTable(
      ['figure', ...EXPOSE_VARIANTS],
      r.spread.map((s) => [s.figure, ...EXPOSE_VARIANTS.map((v) => s.values[v] ?? '-')]),
    ),
  )
  const ratio = (figure: string): number | undefined => {
    const v = r.rows.find((row) => row.figure === figure)?.values
    return v?.burrow !== undefined && v['ssh-R'] ? v.burrow / v['ssh-R'] : undefined
  }
  const t = ratio('single stream')
  const p50 = ratio('64 B req/resp p50')
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met')
  console.log(
    `\ntargets: throughput burrow/ssh-R ${fmt(t)}x (>= ${TARGET_THROUGHPUT_RATIO}x: ${verdict(t === undefined ? undefined : t >= TARGET_THROUGHPUT_RATIO)}); ` +
      `p50 burrow/ssh-R ${fmt(p50)}x (<= ${TARGET_P50_RATIO}x: ${verdict(p50 === undefined ? undefined : p50 <= TARGET_P50_RATIO)})`,
  )
  console.log(`expose bench took ${r.seconds.toFixed(0)} s`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`burrow expose benchmark: ${machine()}`)
  try {
    printExposeResults(await runExposeBench())
    process.exit(0)
  } catch (err) {
    console.error(err)
    await stopAll()
    process.exit(1)
  }
}
