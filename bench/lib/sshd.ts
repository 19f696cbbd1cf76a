/**
 * Private OpenSSH servers for the relay benchmark: `sshd -D -e -f cfg` on 127.0.0.1 with its own
 * host key, accepting only the current user with one client key; and an ssh_config naming them, so
 * `ssh -F cfg alias` needs nothing from ~/.ssh or /etc/ssh (the ideas of test/helpers/sshd.ts,
 * without node:test). A config file and not `-F none` plus `-o` flags: `ssh -J` passes only `-F`
 * on to the ProxyJump ssh it starts, so the jump hop's key and options must be in the file.
 *
 * As root, sshd separates privileges (it needs /run/sshd) and logs the user in with `UsePAM no`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import path from 'node:path'
import { HOST, waitForPort, withPort } from './ports.ts'
import { runProc, startProc, type Proc } from './procs.ts'

export const SSHD = '/usr/sbin/sshd'

export interface Sshd {
  port: number
  /** The listening sshd; per-connection processes are its descendants. */
  proc: Proc
}

/** Makes an ed25519 key pair at `file` (and `file`.pub), no passphrase. */
export async function sshKey(file: string): Promise<void> {
  const r = await runProc('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`)
}

/** Starts sshd named `name` in `dir` (host key and config there), authorizing `authorizedKeys`. */
export async function startSshd(dir: string, name: string, authorizedKeys: string): Promise<Sshd> {
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 })
  const hostKey = path.join(dir, `${name}_host_ed25519`)
  await sshKey(hostKey)
  return withPort(async (port) => {
    const config = path.join(dir, `${name}_sshd_config`)
    writeFileSync(config, sshdConfig(port, hostKey, authorizedKeys, path.join(dir, `${name}.pid`)))
    const proc = startProc(SSHD, ['-D', '-e', '-f', config], { cwd: dir, name: `sshd ${name}` })
    const exited = proc.exited.then(() => {
      throw new Error(`sshd ${name} exited: ${proc.tail()}`)
    })
    try {
      await Promise.race([waitForPort(port), exited])
    } catch (err) {
      await proc.stop()
      throw err
    }
    void exited.catch(() => {}) // exits later, when stopped
    return { port, proc }
  })
}

function sshdConfig(port: number, hostKey: string, authorizedKeys: string, pidFile: string): string {
  const root = process.getuid?.() === 0
  return [
    `Port ${port}`,
    `ListenAddress ${HOST}`,
    `HostKey ${hostKey}`,
    `PidFile ${pidFile}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    `AllowUsers ${userInfo().username}`,
    `PermitRootLogin ${root ? 'prohibit-password' : 'no'}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'UseDNS no',
    'PrintMotd no',
    'MaxStartups 64',
    'LogLevel ERROR',
    '',
  ].join('\n')
}

export interface SshHost {
  alias: string
  port: number
}

/**
 * Writes an ssh_config with one block per host to `file`: the client key, batch mode, no host key
 * checks (throw-away host keys on loopback), errors only. OpenSSH's default cipher applies
 * (chacha20-poly1305@openssh.com, the same AEAD as burrow).
 */
export function sshConfig(file: string, clientKey: string, hosts: SshHost[]): string {
  const blocks = hosts.map((h) =>
    [
      `Host ${h.alias}`,
      `  HostName ${HOST}`,
      `  Port ${h.port}`,
      `  User ${userInfo().username}`,
      `  IdentityFile "${clientKey}"`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  GlobalKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '  ConnectTimeout 10',
      '  ExitOnForwardFailure yes',
    ].join('\n'),
  )
  writeFileSync(file, blocks.join('\n\n') + '\n')
  return file
}
