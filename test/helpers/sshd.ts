/**
 * A private OpenSSH server for integration tests: `sshd -D -e` on 127.0.0.1 with its own host key,
 * client key, authorized_keys and config in a fresh temp dir, accepting only the current user
 * with that client key. Nothing in /etc/ssh is read or changed.
 *
 * Root and non-root: as root (CI), sshd separates privileges, which needs the `sshd` user and
 * /run/sshd (created here if missing) and, with `UsePAM no`, refuses an account whose shadow
 * password starts with `!` (locked); {@link startSshd} checks that up front. As a normal user, sshd
 * runs unprivileged and can only log that same user in, which is all tests need; the port is
 * above 1024 either way. Test tools: openssh-server, openssh-client (`.ci/run` installs them).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { waitForPort, withFreePort } from './ports.ts'
import { findBinary, run, startProcess, type StartedProcess } from './processes.ts'

/** Bounds sshd's start (it is up within ~100 ms). */
export const SSHD_START_TIMEOUT_MS = 10_000
/** Passed to ssh as ConnectTimeout (seconds), so a dead server fails a test instead of hanging it. */
export const SSH_CONNECT_TIMEOUT_S = 10

export interface SshdFixture {
  readonly host: '127.0.0.1'
  readonly port: number
  /** The user sshd accepts: the one running the tests. */
  readonly user: string
  /** `${user}@127.0.0.1`, the destination for ssh/scp. */
  readonly destination: string
  /** Private key authorized for `user` (ed25519, no passphrase). */
  readonly clientKey: string
  /** A known_hosts file holding the host key as `[127.0.0.1]:port`. */
  readonly knownHosts: string
  /** The temp dir with keys, config, pid file; removed by `stop()`. */
  readonly dir: string
  readonly process: StartedProcess
  /** `-F none -i key -o UserKnownHostsFile=... -o StrictHostKeyChecking=yes -o BatchMode=yes ... -p port`, then `extra`. */
  sshArgs(extra?: string[]): string[]
  /** The same options for scp (`-P port`), then `extra`. */
  scpArgs(extra?: string[]): string[]
  /** A {@link SshHost} for this server under `alias`, for {@link sshConfig}. */
  hostEntry(alias: string, via?: Pick<SshHost, 'proxyCommand' | 'proxyJump'>): SshHost
  /** Stops sshd and removes `dir`. */
  stop(): Promise<void>
}

/** Temp dirs of fixtures not stopped yet: removed when the process exits (one listener for all). */
const dirs = new Set<string>()
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Starts sshd on a free loopback port (retrying on a port clash) and waits until it accepts. */
export async function startSshd(): Promise<SshdFixture> {
  const sshd = findBinary('sshd')
  const keygen = findBinary('ssh-keygen')
  if (sshd === undefined || keygen === undefined)
    throw new Error('sshd/ssh-keygen not installed: run .ci/run')
  const user = userInfo().username
  if (process.getuid?.() === 0) preparePrivsep(user)
  const dir = mkdtempSync(path.join(tmpdir(), 'burrow-sshd-'))
  dirs.add(dir)
  const file = (name: string): string => path.join(dir, name)
  const keys = ['host_ed25519', 'client_ed25519'].map(async (name) => {
    const r = await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', file(name)])
    if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`)
  })
  await Promise.all(keys)
  writeFileSync(file('authorized_keys'), readFileSync(file('client_ed25519.pub')))

  const { port, proc } = await withFreePort(async (port) => {
    writeFileSync(file('sshd_config'), sshdConfig(port, user, dir))
    const proc = await startProcess(sshd, ['-D', '-e', '-f', file('sshd_config')], { cwd: dir })
    const stopped = new AbortController()
    void proc.exited.then((e) =>
      stopped.abort(new Error(`sshd exited (${e.code ?? e.signal}): ${proc.stderr()}`)),
    )
    try {
      await waitForPort(port, { timeoutMs: SSHD_START_TIMEOUT_MS, signal: stopped.signal })
    } catch (err) {
      await proc.stop('SIGKILL')
      throw err
    }
    return { port, proc }
  })

  const hostKey = readFileSync(file('host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ')
  writeFileSync(file('known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`)
  const clientKey = file('client_ed25519')
  const knownHosts = file('known_hosts')
  const options = [
    ...['-F', 'none', '-i', clientKey],
    ...['-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'],
    ...['-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'],
    ...['-o', `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`],
  ]
  return {
    host: '127.0.0.1',
    port,
    user,
    destination: `${user}@127.0.0.1`,
    clientKey,
    knownHosts,
    dir,
    process: proc,
    sshArgs: (extra = []) => [...options, '-p', String(port), ...extra],
    scpArgs: (extra = []) => [...options, '-P', String(port), ...extra],
    hostEntry: (alias, via = {}) => ({
      alias,
      hostName: '127.0.0.1',
      port,
      user,
      identityFile: clientKey,
      knownHostsFile: knownHosts,
      ...via,
    }),
    async stop() {
      await proc.stop()
      rmSync(dir, { recursive: true, force: true })
      dirs.delete(dir)
    },
  }
}

function sshdConfig(port: number, user: string, dir: string): string {
  const root = process.getuid?.() === 0
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_ed25519')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `AllowUsers ${user}`,
    `PermitRootLogin ${root ? 'prohibit-password' : 'no'}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    // Tests open many connections at once; the default 10:30:100 would drop some before auth.
    'MaxStartups 256',
    'MaxSessions 64',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n')
}

/** As root: sshd's privilege separation wants /run/sshd, and `UsePAM no` rejects locked accounts. */
function preparePrivsep(user: string): void {
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 })
  let shadow = ''
  try {
    shadow = readFileSync('/etc/shadow', 'utf8')
  } catch {
    return // no shadow file: nothing can be locked there
  }
  const hash =
    shadow
      .split('\n')
      .find((l) => l.startsWith(`${user}:`))
      ?.split(':')[1] ?? ''
  if (hash.startsWith('!')) {
    throw new Error(
      `sshd (UsePAM no) refuses ${user}: its password is locked ('!' in /etc/shadow). ` +
        `Run the tests as a normal user, or unlock key logins with: usermod -p '*' ${user}`,
    )
  }
}

/** One `Host` block of an ssh_config. */
export interface SshHost {
  /** The name given to ssh (`ssh -F cfg alias`). */
  alias: string
  hostName: string
  port: number
  user: string
  identityFile: string
  knownHostsFile: string
  /** Run instead of a TCP connect, e.g. `burrow connect ... --stdio`; ssh expands %h and %p. */
  proxyCommand?: string
  /** Another alias (or `user@host:port`) to jump through, resolved in the same file. */
  proxyJump?: string
  /** More `Key value` lines. */
  options?: Record<string, string>
}

/**
 * Writes an ssh_config with one Host block per entry to `file` and returns `file`; use it as
 * `ssh -F file alias`. Each block is self-contained (key, known_hosts, strict checking, batch
 * mode), so nothing from ~/.ssh or /etc/ssh is needed. Host key lookups use HostName and Port,
 * so they match the fixture's `[127.0.0.1]:port` entry even through a ProxyCommand.
 */
export function sshConfig(file: string, hosts: SshHost[]): string {
  const q = (v: string): string => `"${v}"`
  const blocks = hosts.map((h) =>
    [
      `Host ${h.alias}`,
      `  HostName ${h.hostName}`,
      `  Port ${h.port}`,
      `  User ${h.user}`,
      `  IdentityFile ${q(h.identityFile)}`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  UserKnownHostsFile ${q(h.knownHostsFile)}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      `  ConnectTimeout ${SSH_CONNECT_TIMEOUT_S}`,
      ...(h.proxyCommand === undefined ? [] : [`  ProxyCommand ${h.proxyCommand}`]),
      ...(h.proxyJump === undefined ? [] : [`  ProxyJump ${h.proxyJump}`]),
      ...Object.entries(h.options ?? {}).map(([k, v]) => `  ${k} ${v}`),
    ].join('\n'),
  )
  writeFileSync(file, blocks.join('\n\n') + '\n')
  return file
}
