/**
 * Capability tokens end to end, through a real relay on loopback: a server token serves, client
 * tokens minted from it connect; expiry and revocation close live sessions and refuse new ones,
 * each with its own code; a grant narrows the targets.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { after, test } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { connect, type Connection } from '../../src/peer/connect.ts'
import { explain } from '../../src/peer/codes.ts'
import { serve } from '../../src/peer/serve.ts'
import { WatchedFile } from '../../src/policy/watched-file.ts'
import { TargetPolicy } from '../../src/policy/targets.ts'
import { startRelay } from '../../src/relay/server.ts'
import {
  MAX_REVOCATION_FILE_BYTES,
  createServerToken,
  encodeGrant,
  identityOf,
  mintClientToken,
  parseRevocationList,
} from '../../src/token/index.ts'
import { rawServer } from '../helpers/sockets.ts'
import { FAST_LINK, ready } from '../helpers/tunnel.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-tokens-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** How long a closed session may take to be noticed: the bound. */
const CLOSE_BOUND_MS = 2000

async function setup() {
  const echo = await rawServer((s) => s.pipe(s))
  const other = await rawServer((s) => s.end('other service'))
  const relay = await startRelay({
    identity: generateIdentity(),
    listen: ['tcp:127.0.0.1:0'],
    link: FAST_LINK,
  })
  const serverToken = createServerToken({ relays: [relay.address('device')] })
  const revokedFile = path.join(dir, `revoked-${Math.random().toString(36).slice(2)}.txt`)
  writeFileSync(revokedFile, '# nothing revoked yet\n')
  const revocations = new WatchedFile(revokedFile, {
    parse: parseRevocationList,
    what: 'revocation file',
    maxBytes: MAX_REVOCATION_FILE_BYTES,
    debounceMs: 20,
  }).watch()
  const server = serve({
    token: serverToken,
    tcp: new TargetPolicy([`127.0.0.1:${echo.port}`, `127.0.0.1:${other.port}`]),
    revocations: Object.assign(revocations, {
      isRevoked: (g: { tokenId: string; clientId: string }) => revocations.value.isRevoked(g),
    }),
    link: FAST_LINK,
    relayLink: FAST_LINK,
  })
  await ready(server)
  const echoTarget = `tcp://127.0.0.1:${echo.port}`
  const otherTarget = `tcp://127.0.0.1:${other.port}`
  return {
    serverToken,
    server,
    echoTarget,
    otherTarget,
    revoke(lines: string) {
      const tmp = `${revokedFile}.new`
      writeFileSync(tmp, lines)
      renameSync(tmp, revokedFile)
    },
    revocations,
    async close() {
      server.close()
      revocations.close()
      await relay.close()
      await echo.close()
      await other.close()
    },
  }
}

async function echoes(c: Connection, text: string): Promise<void> {
  const back = once(c.stream, 'data')
  c.stream.write(text)
  assert.equal(String((await back)[0]), text)
}

/** Resolves with the coded error the stream ends with, and how long after `since` it came. */
function endOf(stream: Duplex, since: () => number): Promise<{ code: string | undefined; afterMs: number }> {
  return new Promise((resolve) => {
    stream.once('error', (err) =>
      resolve({ code: (explain(err) as { code?: string }).code, afterMs: Date.now() - since() }),
    )
  })
}

async function refusal(promise: Promise<Connection>): Promise<string | undefined> {
  try {
    const c = await promise
    c.close()
    return 'connected'
  } catch (err) {
    return (err as { code?: string }).code
  }
}

test(
  'client tokens connect; a live session whose token expires is closed within 2 s, and a new one is refused',
  { timeout: 30_000 },
  async () => {
    const net = await setup()
    const expiresAt = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000)
    const short = mintClientToken(net.serverToken, { targets: [net.echoTarget], expiresAt, name: 'short' })
    const long = mintClientToken(net.serverToken, { targets: [net.echoTarget], name: 'long' })
    const a = await connect({ token: short, link: FAST_LINK, relayLink: FAST_LINK })
    const b = await connect({ token: long, link: FAST_LINK, relayLink: FAST_LINK })
    await echoes(a, 'short-lived')
    await echoes(b, 'long-lived')
    const ended = await endOf(a.stream, () => expiresAt.getTime())
    assert.equal(ended.code, 'TUN_ERR_TOKEN_EXPIRED')
    assert.ok(ended.afterMs <= CLOSE_BOUND_MS, `closed ${ended.afterMs} ms after expiry`)
    assert.equal(await refusal(connect({ token: short, pathWaitMs: 2000 })), 'TUN_ERR_TOKEN_EXPIRED')
    await echoes(b, 'still here')
    a.close()
    b.close()
    await net.close()
  },
)

test(
  'two clients with different tokens at once: revoking one closes it within 2 s and leaves the other running',
  { timeout: 30_000 },
  async () => {
    const net = await setup()
    const alice = mintClientToken(net.serverToken, { targets: [net.echoTarget], name: 'alice' })
    const bob = mintClientToken(net.serverToken, { targets: [net.echoTarget], name: 'bob' })
    const a = await connect({ token: alice, link: FAST_LINK, relayLink: FAST_LINK })
    const b = await connect({ token: bob, link: FAST_LINK, relayLink: FAST_LINK })
    await echoes(a, 'alice')
    await echoes(b, 'bob')
    const revokedAt = Date.now()
    const ended = endOf(a.stream, () => revokedAt)
    net.revoke(`${alice.grant.tokenId}  # alice's laptop was stolen\n`)
    const end = await ended
    assert.equal(end.code, 'TUN_ERR_TOKEN_REVOKED')
    assert.ok(end.afterMs <= CLOSE_BOUND_MS, `closed ${end.afterMs} ms after the revocation was written`)
    assert.equal(await refusal(connect({ token: alice, pathWaitMs: 2000 })), 'TUN_ERR_TOKEN_REVOKED')
    await echoes(b, 'bob keeps going')
    // Revoking by client id works too.
    const gone = endOf(b.stream, () => Date.now())
    net.revoke(`${alice.grant.tokenId}\n${bob.grant.clientId}\n`)
    assert.equal((await gone).code, 'TUN_ERR_TOKEN_REVOKED')
    a.close()
    b.close()
    await net.close()
  },
)

test(
  'a grant narrows the targets; a token from another server is refused with its own code',
  { timeout: 30_000 },
  async () => {
    const net = await setup()
    const token = mintClientToken(net.serverToken, { targets: [net.echoTarget] })
    const c = await connect({ token, target: net.otherTarget, link: FAST_LINK, relayLink: FAST_LINK })
    const denied = await new Promise<string | undefined>((resolve) =>
      c.stream.once('error', (err) => resolve((explain(err) as { code?: string }).code)),
    )
    assert.equal(denied, 'TUN_ERR_TARGET_DENIED')
    c.close()
    // The same relay addresses, a token minted by another server's key, aimed at this server.
    const stranger = createServerToken({ relays: net.serverToken.relays })
    const foreign = mintClientToken(stranger, { targets: [net.echoTarget] })
    const viaThis = await refusal(
      connect({
        identity: identityOf(foreign),
        server: `${net.serverToken.relays[0]}~tunnel:${net.server.id}`,
        link: { ...FAST_LINK, payload: encodeGrant(foreign.grant) },
        pathWaitMs: 2000,
      }),
    )
    assert.equal(viaThis, 'TUN_ERR_TOKEN_WRONG_SERVER')
    // Without any token and without being on an allow list: refused.
    assert.equal(
      await refusal(
        connect({
          identity: generateIdentity(),
          server: `${net.serverToken.relays[0]}~tunnel:${net.server.id}`,
          pathWaitMs: 2000,
        }),
      ),
      'TUN_ERR_UNAUTHORIZED',
    )
    await net.close()
  },
)
