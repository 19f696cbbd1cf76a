/**
 * iperf3 on loopback: a server fixture and a client that returns iperf3's JSON summary (`-J`).
 * Needs the iperf3 package (`.ci/run` installs it).
 *
 * Why the server prints text, not JSON: with `-J` a server writes nothing until a test has ended,
 * so it could not say it is listening; and probing its port with a connect (waitForPort) would be
 * taken for a client (it fails that "test", and `--one-off` would exit). Its text mode prints
 * "Server listening on <port>" as soon as it listens (flushed by `--forceflush`), which is the
 * ready line. The client's JSON carries both ends' totals, so nothing is lost.
 */
import { withFreePort, type LoopbackHost } from './ports.ts'
import { findBinary, run, startProcess, type StartedProcess } from './processes.ts'

/** Bounds the server's start. */
export const IPERF_START_TIMEOUT_MS = 10_000
/** Time a client run may take beyond its `seconds` (connect, exchange of results). */
export const IPERF_CLIENT_SLACK_MS = 15_000
/** Control-connection timeout given to the client (`--connect-timeout`, ms). */
export const IPERF_CONNECT_TIMEOUT_MS = 5_000

export interface IperfServerOptions {
  /** Exit after one test (`--one-off`); default false: keeps serving, one test at a time. */
  oneOff?: boolean
  /** Default 127.0.0.1. */
  host?: LoopbackHost
}

export interface IperfServer {
  readonly host: LoopbackHost
  /** TCP control/data port; UDP tests use the same number. */
  readonly port: number
  readonly process: StartedProcess
  stop(): Promise<void>
}

/** Starts `iperf3 -s` bound to loopback on a free port; resolves when it is listening. */
export async function startIperfServer(options: IperfServerOptions = {}): Promise<IperfServer> {
  const iperf3 = requireIperf()
  const host = options.host ?? '127.0.0.1'
  return withFreePort(async (port) => {
    const args = ['-s', '-B', host, '-p', String(port), '--forceflush', ...(options.oneOff ? ['-1'] : [])]
    const proc = await startProcess(iperf3, args, {
      readyLine: /Server listening on \d+|error/i,
      readyTimeoutMs: IPERF_START_TIMEOUT_MS,
    })
    if (/error/i.test(proc.ready?.[0] ?? '')) {
      await proc.stop('SIGKILL')
      throw new Error(`iperf3 -s failed: ${proc.stdout()}\n${proc.stderr()}`)
    }
    return { host, port, process: proc, stop: async () => void (await proc.stop()) }
  }, host)
}

export interface IperfClientOptions {
  port: number
  /** Default 127.0.0.1. */
  host?: LoopbackHost
  /** Test length (`-t`), default 1. */
  seconds?: number
  /** Server sends, client receives (`-R`). */
  reverse?: boolean
  /** UDP instead of TCP (`-u`); set `bitrate` too, iperf3's UDP default is 1 Mbit/s. */
  udp?: boolean
  /** Target rate (`-b`), e.g. '100M'; 0 means unlimited. */
  bitrate?: string | number
  /** Parallel streams (`-P`), default 1. */
  parallel?: number
}

/** The totals of one iperf3 run, from the client's JSON. */
export interface IperfSummary {
  /** Bytes the sending end wrote (the server when `reverse`). */
  sentBytes: number
  /** Bytes the receiving end read. */
  receivedBytes: number
  /** Receiver-side rate: what actually got through. */
  bitsPerSecond: number
  /** UDP only: percent of datagrams lost. */
  lostPercent?: number
  /** The whole parsed JSON, for anything else. */
  raw: IperfJson
}

interface IperfSum {
  bytes: number
  bits_per_second: number
  lost_percent?: number
}
interface IperfJson {
  error?: string
  end?: { sum?: IperfSum; sum_sent?: IperfSum; sum_received?: IperfSum }
}

/** Runs `iperf3 -c ... -J` to completion and returns its summary; rejects with iperf3's error. */
export async function runIperfClient(options: IperfClientOptions): Promise<IperfSummary> {
  const iperf3 = requireIperf()
  const seconds = options.seconds ?? 1
  const args = ['-c', options.host ?? '127.0.0.1', '-p', String(options.port), '-t', String(seconds), '-J']
  args.push('--connect-timeout', String(IPERF_CONNECT_TIMEOUT_MS))
  if (options.reverse) args.push('-R')
  if (options.udp) args.push('-u')
  if (options.bitrate !== undefined) args.push('-b', String(options.bitrate))
  if (options.parallel !== undefined) args.push('-P', String(options.parallel))
  const result = await run(iperf3, args, { timeoutMs: seconds * 1000 + IPERF_CLIENT_SLACK_MS })
  let json: IperfJson
  try {
    json = JSON.parse(result.stdout.toString('utf8')) as IperfJson
  } catch {
    throw new Error(`iperf3 ${args.join(' ')} (exit ${result.code}) printed no JSON: ${result.stderr}`)
  }
  if (json.error !== undefined || result.code !== 0) {
    throw new Error(`iperf3 ${args.join(' ')} failed (exit ${result.code}): ${json.error ?? result.stderr}`)
  }
  const sent = json.end?.sum_sent ?? json.end?.sum
  const received = json.end?.sum_received ?? json.end?.sum
  if (sent === undefined || received === undefined)
    throw new Error('iperf3 JSON has no end.sum_sent/received')
  return {
    sentBytes: sent.bytes,
    receivedBytes: received.bytes,
    bitsPerSecond: received.bits_per_second,
    ...(options.udp ? { lostPercent: received.lost_percent ?? json.end?.sum?.lost_percent ?? 0 } : {}),
    raw: json,
  }
}

function requireIperf(): string {
  const iperf3 = findBinary('iperf3')
  if (iperf3 === undefined) throw new Error('iperf3 not installed: run .ci/run')
  return iperf3
}
