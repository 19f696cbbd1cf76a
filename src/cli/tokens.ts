/** Token flags for commands: read a token of the right kind, and watch a revocation file. */
import { TunnelError } from '../errors.ts'
import type { Revocations } from '../peer/serve.ts'
import { WatchedFile } from '../policy/watched-file.ts'
import {
  MAX_REVOCATION_FILE_BYTES,
  parseRevocationList,
  readTokenSource,
  requireKind,
  tokenValidity,
  type ClientToken,
  type RevocationList,
  type ServerToken,
} from '../token/index.ts'
import type { Output } from './output.ts'

/** Reads a token from a file, `-` or `env:NAME`; the wrong kind or a token out of its validity is an error. */
export async function readToken(source: string, kind: 'server'): Promise<ServerToken>
export async function readToken(source: string, kind: 'client'): Promise<ClientToken>
export async function readToken(
  source: string,
  kind: 'server' | 'client',
): Promise<ServerToken | ClientToken> {
  const token = await readTokenSource(source, { env: process.env })
  if (token.kind !== kind) {
    throw new TunnelError(
      'TUN_ERR_TOKEN_KIND',
      kind === 'server'
        ? `${source} holds a client token: a client token cannot serve; serve takes the server token (burrow token server)`
        : `${source} holds a server token: open and connect take a client token (burrow token client --server-token ...)`,
    )
  }
  requireKind(token, kind)
  const validity = tokenValidity(token, Date.now())
  if (validity === 'expired')
    throw new TunnelError('TUN_ERR_TOKEN_EXPIRED', `the ${kind} token in ${source} has expired`)
  if (validity === 'not-yet-valid')
    throw new TunnelError('TUN_ERR_TOKEN_NOT_YET_VALID', `the ${kind} token in ${source} is not valid yet`)
  return token
}

/** A watched revocation file (reloaded on change and on SIGHUP; a bad edit keeps the previous list). */
export function watchRevocations(file: string, out: Output): WatchedFile<RevocationList> & Revocations {
  const watched = new WatchedFile(file, {
    parse: parseRevocationList,
    what: 'revocation file',
    maxBytes: MAX_REVOCATION_FILE_BYTES,
  })
  watched.on('error', (err) =>
    out.event(
      'revocations-error',
      { file, err },
      `revocation file not reloaded (the previous list stays): ${err.message}`,
    ),
  )
  watched.on('change', (next) =>
    out.event(
      'revocations',
      { file, tokens: next.tokenIds.size, clients: next.clientIds.size },
      `revocation file reloaded: ${next.tokenIds.size} tokens, ${next.clientIds.size} clients`,
    ),
  )
  watched.watch()
  return Object.assign(watched, {
    isRevoked: (grant: Parameters<RevocationList['isRevoked']>[0]) => watched.value.isRevoked(grant),
  })
}
