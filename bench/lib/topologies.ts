/**
 * The paths of the relay benchmark, each from a local port to the same targets on 127.0.0.1:
 *
 *   tcp         straight to the target
 *   ssh-L       ssh -N -L -> sshd -> target
 *   ssh-J       ssh -N -J jump -L -> jump sshd -> target sshd -> target: encrypted end to end to the
 *               target sshd and once more on the client->jump hop (ssh's ProxyJump `ssh -W` child)
 *   socat-2hop  socat -> socat -> target, no encryption
 *   burrow      burrow open -> burrow relay -> burrow serve -> target: a Noise hop link to the relay
 *               on each side, and an end-to-end Noise link open<->serve inside the spliced stream
 *
 * Each path names the root processes of its roles, for CPU accounting: `entry` (what the client
 * connects to), `relay` (the middle hop) and `exit` (what connects to the target).
 */
import { join } from 'node:path'
import { keygen, startBurrow } from './burrow-cli.ts'
import { waitForEcho } from './figures.ts'
import { HOST, waitForPort, withPorts } from './ports.ts'
import { cpuSeconds } from './proctree.ts'
import { startProc, type Proc } from './procs.ts'
import { sshConfig, startSshd, type Sshd } from './sshd.ts'

export type Role = 'entry' | 'relay' | 'exit'
export const ROLES: readonly Role[] = ['entry', 'relay', 'exit']

/** Target ports on 127.0.0.1: an iperf3 server, and the benchmark stream server (echo). */
export interface Targets {
  iperf: number
  echo: number
}

export interface Topology {
  name: string
  /** Where the client connects to reach each target. */
  ports: Targets
  /** Root pids per role (their process trees are counted). */
  roles: Record<Role, number[]>
  /** Stops this path's processes, clients first. */
  stop(): Promise<void>
}

/** CPU-seconds used per role (roles without processes are absent). */
export type RoleCpu = Partial<Record<Role, number>>

/** Runs `work` and measures the CPU each role of `path` used meanwhile (/proc, whole process trees). */
export async function cpuDuring<T>(
  path: Topology,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: RoleCpu }> {
  const roles = ROLES.filter((r) => path.roles[r].length > 0)
  const before = roles.map((r) => cpuSeconds(path.roles[r]))
  const result = await work()
  const cpu: RoleCpu = {}
  roles.forEach((r, i) => (cpu[r] = cpuSeconds(path.roles[r]) - (before[i] ?? 0)))
  return { result, cpu }
}

/** A temp dir with the ssh client key its sshds authorize. */
export interface Workdir {
  dir: string
  clientKey: string
}

const stopInOrder = (procs: Proc[]) => async (): Promise<void> => {
  for (const p of procs) await p.stop()
}

/** Resolves when `ready` does, or rejects when `proc` exits first. */
async function upOrExit(proc: Proc, ready: Promise<void>): Promise<void> {
  const exited = proc.exited.then((code) => {
    throw new Error(`${proc.name} exited (${code}): ${proc.tail()}`)
  })
  exited.catch(() => {}) // it exits later too, when stopped
  await Promise.race([ready, exited])
}

export function tcpPath(targets: Targets): Topology {
  return { name: 'tcp', ports: targets, roles: { entry: [], relay: [], exit: [] }, stop: async () => {} }
}

/**
 * `ssh -F cfg -N [extra] -L a:target-iperf -L b:target-echo host` (one ssh, a forward per target);
 * resolves once both forwards accept (ssh binds them after it has logged in).
 */
async function sshForward(cfg: string, extra: string[], host: string, targets: Targets, name: string) {
  return withPorts(2, async ([a, b]) => {
    const forwards = [`${a}:${HOST}:${targets.iperf}`, `${b}:${HOST}:${targets.echo}`]
    const args = ['-F', cfg, '-N', ...extra, '-L', forwards[0] as string, '-L', forwards[1] as string, host]
    const proc = startProc('ssh', args, { name })
    try {
      await upOrExit(
        proc,
        waitForPort(a as number, 15_000).then(() => waitForEcho(b as number)),
      )
    } catch (err) {
      await proc.stop()
      throw err
    }
    return { proc, ports: { iperf: a as number, echo: b as number } }
  })
}

export async function sshLPath(work: Workdir, targets: Targets): Promise<Topology> {
  const sshd = await startSshd(work.dir, 'sshl', `${work.clientKey}.pub`)
  try {
    const cfg = sshConfig(join(work.dir, 'ssh_config_L'), work.clientKey, [
      { alias: 'sshl', port: sshd.port },
    ])
    const ssh = await sshForward(cfg, [], 'sshl', targets, 'ssh -L')
    return {
      name: 'ssh-L',
      ports: ssh.ports,
      roles: { entry: [ssh.proc.pid], relay: [], exit: [sshd.proc.pid] },
      stop: stopInOrder([ssh.proc, sshd.proc]),
    }
  } catch (err) {
    await sshd.proc.stop()
    throw err
  }
}

export async function sshJPath(work: Workdir, targets: Targets): Promise<Topology> {
  const started: Sshd[] = []
  try {
    const jump = await startSshd(work.dir, 'jump', `${work.clientKey}.pub`)
    started.push(jump)
    const target = await startSshd(work.dir, 'target', `${work.clientKey}.pub`)
    started.push(target)
    const cfg = sshConfig(join(work.dir, 'ssh_config_J'), work.clientKey, [
      { alias: 'jump', port: jump.port },
      { alias: 'target', port: target.port },
    ])
    // ssh -J starts `ssh -F cfg -W [127.0.0.1]:port jump` as its ProxyJump child.
    const ssh = await sshForward(cfg, ['-J', 'jump'], 'target', targets, 'ssh -J')
    return {
      name: 'ssh-J',
      ports: ssh.ports,
      roles: { entry: [ssh.proc.pid], relay: [jump.proc.pid], exit: [target.proc.pid] },
      stop: stopInOrder([ssh.proc, jump.proc, target.proc]),
    }
  } catch (err) {
    for (const s of started) await s.proc.stop()
    throw err
  }
}

/** `socat TCP-LISTEN:port,fork TCP:127.0.0.1:to`, Nagle off both sides; resolves once it listens. */
async function socat(to: number, name: string): Promise<{ proc: Proc; port: number }> {
  return withPorts(1, async ([port]) => {
    const listen = `TCP-LISTEN:${port},bind=${HOST},fork,reuseaddr,nodelay`
    const proc = startProc('socat', [listen, `TCP:${HOST}:${to},nodelay`], { name })
    try {
      await upOrExit(proc, waitForPort(port as number))
    } catch (err) {
      await proc.stop()
      throw err
    }
    return { proc, port: port as number }
  })
}

export async function socatPath(targets: Targets): Promise<Topology> {
  const procs: Proc[] = []
  try {
    const lastIperf = await socat(targets.iperf, 'socat relay (iperf)')
    procs.push(lastIperf.proc)
    const lastEcho = await socat(targets.echo, 'socat relay (echo)')
    procs.push(lastEcho.proc)
    const firstIperf = await socat(lastIperf.port, 'socat entry (iperf)')
    procs.push(firstIperf.proc)
    const firstEcho = await socat(lastEcho.port, 'socat entry (echo)')
    procs.push(firstEcho.proc)
    return {
      name: 'socat-2hop',
      ports: { iperf: firstIperf.port, echo: firstEcho.port },
      roles: {
        entry: [firstIperf.proc.pid, firstEcho.proc.pid],
        relay: [lastIperf.proc.pid, lastEcho.proc.pid],
        exit: [],
      },
      stop: stopInOrder(procs.reverse()),
    }
  } catch (err) {
    for (const p of procs.reverse()) await p.stop()
    throw err
  }
}

export async function burrowPath(work: Workdir, targets: Targets): Promise<Topology> {
  const procs: Proc[] = []
  const key = (name: string) => join(work.dir, `${name}.key`)
  try {
    await keygen(key('relay'))
    await keygen(key('server'))
    const clientId = await keygen(key('client'))
    const relay = await startBurrow(
      ['relay', '--key', key('relay'), '--listen', `tcp:${HOST}:0`],
      'burrow relay',
    )
    procs.push(relay.proc)
    const relayAddress = (relay.ready.addresses as { device: string }).device
    const serve = await startBurrow(
      [
        'serve',
        '--key',
        key('server'),
        '--relay',
        relayAddress,
        '--allow-tcp',
        HOST,
        '--allow-client',
        clientId,
      ],
      'burrow serve',
    )
    procs.push(serve.proc)
    await serve.proc.waitFor(/"event":"relay".*"state":"ready"/)
    const server = serve.ready.address as string
    const open = async (target: number, name: string) => {
      const o = await startBurrow(
        [
          'open',
          server,
          '--key',
          key('client'),
          '--target',
          `tcp://${HOST}:${target}`,
          '--listen',
          `${HOST}:0`,
        ],
        name,
      )
      procs.push(o.proc)
      return { proc: o.proc, port: Number(String(o.ready.listen).split(':').pop()) }
    }
    const iperfOpen = await open(targets.iperf, 'burrow open (iperf)')
    const echoOpen = await open(targets.echo, 'burrow open (echo)')
    await upOrExit(echoOpen.proc, waitForEcho(echoOpen.port))
    return {
      name: 'burrow',
      ports: { iperf: iperfOpen.port, echo: echoOpen.port },
      roles: {
        entry: [iperfOpen.proc.pid, echoOpen.proc.pid],
        relay: [relay.proc.pid],
        exit: [serve.proc.pid],
      },
      stop: stopInOrder([iperfOpen.proc, echoOpen.proc, serve.proc, relay.proc]),
    }
  } catch (err) {
    for (const p of procs.reverse()) await p.stop()
    throw err
  }
}
