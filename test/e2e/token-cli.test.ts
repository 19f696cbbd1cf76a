// burrow token server | client | inspect, as a user runs them: through files, stdin and env:NAME;
// secrets never printed by inspect; token files 0600 and refused when open; never from argv.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { createServerToken, decodeToken, encodeToken, writeTokenFile } from '../../src/token/index.ts'
import { runBurrow, type RunResult } from '../helpers/cli.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-e2e-token-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const RELAY = `tcp:127.0.0.1:7000~noise:${generateIdentity().id}`
const file = (name: string): string => path.join(dir, name)

/** Every spelling of a token's seed that could leak into output. */
function seedSpellings(tokenText: string): string[] {
  const seed = Buffer.from(decodeToken(tokenText).seed)
  return [
    seed.toString('hex'),
    seed.toString('base64'),
    seed.toString('base64url'),
    seed.toString('base64').slice(0, 20),
  ]
}

function assertNoSecrets(res: RunResult, tokenTexts: string[]): void {
  for (const t of tokenTexts) {
    for (const spelling of seedSpellings(t)) {
      assert.ok(
        !res.stdout.includes(spelling) && !res.stderr.includes(spelling),
        `a seed spelling leaked: ${spelling}`,
      )
    }
    const body = t.slice(t.indexOf('.') + 1)
    assert.ok(!res.stdout.includes(body.slice(0, 60)), 'the token text leaked')
  }
}

test('server -> client -> inspect through files: 0600 files, every field shown, no secret', async () => {
  const key = file('server.key')
  const gen = await runBurrow(['keygen', '--output', key])
  assert.equal(gen.code, 0, gen.stderr)
  const serverId = gen.stdout.trim()

  const server = await runBurrow([
    'token',
    'server',
    '--relay',
    RELAY,
    '--key',
    key,
    '--days',
    '30',
    '--output',
    file('s.token'),
  ])
  assert.equal(server.code, 0, server.stderr)
  assert.equal(server.stdout.trim(), serverId, 'the token carries the --key identity; its id is printed')
  assert.equal(statSync(file('s.token')).mode & 0o777, 0o600)
  assert.match(server.stderr, /keep it secret/)

  const client = await runBurrow([
    'token',
    'client',
    '--server-token',
    file('s.token'),
    '--target',
    'tcp://127.0.0.1:22',
    '--target',
    'TCP://LocalHost:80',
    '--name',
    'laptop',
    '--days',
    '7',
    '--output',
    file('c.token'),
  ])
  assert.equal(client.code, 0, client.stderr)
  const clientId = client.stdout.trim()
  assert.match(clientId, /^[a-z2-7]{52}$/)
  assert.equal(statSync(file('c.token')).mode & 0o777, 0o600)
  const texts = [readFileSync(file('s.token'), 'utf8').trim(), readFileSync(file('c.token'), 'utf8').trim()]

  const inspect = await runBurrow(['token', 'inspect', file('c.token')])
  assert.equal(inspect.code, 0, inspect.stderr)
  for (const want of [
    /^kind +client$/m,
    new RegExp(`^server id +${serverId}$`, 'm'),
    new RegExp(`^client id +${clientId}$`, 'm'),
    /^token id +[0-9a-f]{32}$/m,
    /^name +laptop$/m,
    new RegExp(`^relays +${RELAY.replace(/[.]/g, '\\.')}$`, 'm'),
    /^targets +tcp:\/\/127\.0\.0\.1:22\n +tcp:\/\/localhost:80$/m,
    /^issued +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
    /^not before +\d{4}-/m,
    /^expires +\d{4}-/m,
    /^status +valid$/m,
  ])
    assert.match(inspect.stdout, want)
  assertNoSecrets(inspect, texts)

  const json = await runBurrow(['token', 'inspect', file('s.token'), '--json'])
  assert.equal(json.code, 0, json.stderr)
  const d = JSON.parse(json.stdout) as Record<string, unknown>
  assert.deepEqual(Object.keys(d).sort(), [
    'expiresAt',
    'issuedAt',
    'kind',
    'relays',
    'serverId',
    'status',
    'version',
  ])
  assert.equal(d.serverId, serverId)
  assert.equal(d.status, 'valid')
  assertNoSecrets(json, texts)
})

test('round trip through stdin (-) and env:NAME', async () => {
  const server = await runBurrow(['token', 'server', '--relay', RELAY])
  assert.equal(server.code, 0, server.stderr)
  assert.match(server.stdout, /^burrow-server-v1\.[A-Za-z0-9_-]+\n$/)
  const client = await runBurrow(['token', 'client', '--server-token', '-', '--name', 'piped'], {
    input: server.stdout,
  })
  assert.equal(client.code, 0, client.stderr)
  assert.match(client.stdout, /^burrow-client-v1\./)
  const viaStdin = await runBurrow(['token', 'inspect', '-', '--json'], { input: client.stdout })
  assert.equal(viaStdin.code, 0, viaStdin.stderr)
  assert.equal((JSON.parse(viaStdin.stdout) as { name: string }).name, 'piped')
  const viaEnv = await runBurrow(['token', 'inspect', 'env:BURROW_TEST_TOKEN'], {
    env: { ...process.env, BURROW_TEST_TOKEN: client.stdout },
  })
  assert.equal(viaEnv.code, 0, viaEnv.stderr)
  assert.match(viaEnv.stdout, /^name +piped$/m)
  assertNoSecrets(viaStdin, [server.stdout.trim(), client.stdout.trim()])
  assertNoSecrets(viaEnv, [server.stdout.trim(), client.stdout.trim()])
  const fromEnv = await runBurrow(['token', 'client', '--server-token', 'env:S'], {
    env: { ...process.env, S: server.stdout },
  })
  assert.equal(fromEnv.code, 0, fromEnv.stderr)
})

test('a token file with mode 0644 is refused (exit 3)', async () => {
  const res0 = await runBurrow(['token', 'server', '--output', file('open.token')])
  assert.equal(res0.code, 0, res0.stderr)
  chmodSync(file('open.token'), 0o644)
  for (const args of [
    ['token', 'inspect', file('open.token')],
    ['token', 'client', '--server-token', file('open.token')],
  ]) {
    const res = await runBurrow(args)
    assert.equal(res.code, 3)
    assert.match(res.stderr, /TUN_ERR_KEY_FILE_PERMISSIONS: permissions 0644 .*too open.*chmod 600/)
    assert.equal(res.stdout, '')
  }
})

test('a token text passed as an argument is refused: tokens come from a file, - or env:NAME', async () => {
  const server = await runBurrow(['token', 'server'])
  const text = server.stdout.trim()
  for (const args of [
    ['token', 'inspect', text],
    ['token', 'client', '--server-token', text],
  ]) {
    const res = await runBurrow(args)
    assert.equal(res.code, 2)
    assert.match(
      res.stderr,
      /tokens are read from a file, - \(stdin\) or env:NAME, never from the command line/,
    )
    assert.equal(res.stdout, '')
  }
})

test('kinds: a client token cannot mint (a usage error, exit 2); inspect reports expired and not-yet-valid with exit 1', async () => {
  const server = await runBurrow(['token', 'server', '--output', file('k-s.token')])
  assert.equal(server.code, 0, server.stderr)
  const later = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
  const client = await runBurrow([
    'token',
    'client',
    '--server-token',
    file('k-s.token'),
    '--not-before',
    later,
    '-o',
    file('k-c.token'),
  ])
  assert.equal(client.code, 0, client.stderr)
  const mintFromClient = await runBurrow(['token', 'client', '--server-token', file('k-c.token')])
  assert.equal(mintFromClient.code, 2)
  assert.match(mintFromClient.stderr, /TUN_ERR_TOKEN_KIND: a client token cannot serve or mint/)
  const notYet = await runBurrow(['token', 'inspect', file('k-c.token')])
  assert.equal(notYet.code, 1)
  assert.match(notYet.stdout, /^status +not-yet-valid$/m)

  const old = createServerToken({ now: Date.now() - 10 * 86_400_000, days: 1 })
  writeTokenFile(file('expired.token'), encodeToken(old))
  const expired = await runBurrow(['token', 'inspect', file('expired.token'), '--json'])
  assert.equal(expired.code, 1)
  assert.equal((JSON.parse(expired.stdout) as { status: string }).status, 'expired')
  const fromExpired = await runBurrow(['token', 'client', '--server-token', file('expired.token')])
  assert.match(fromExpired.stderr, /TUN_ERR_TOKEN_EXPIRED/)
})

test('usage errors exit 2: lifetimes, dates, flags of another subcommand, unknown subcommand', async () => {
  const s = await runBurrow(['token', 'server', '--days', '10', '--output', file('u-s.token')])
  assert.equal(s.code, 0, s.stderr)
  const cases: [string[], RegExp][] = [
    [
      ['token', 'client', '--server-token', file('u-s.token'), '--days', '11'],
      /cannot outlive its server token/,
    ],
    [['token', 'server', '--days', '1', '--expires', '2030-01-01'], /--expires or --days, not both/],
    [['token', 'server', '--expires', '2030-02-30'], /ISO 8601/],
    [['token', 'server', '--expires', 'tomorrow'], /ISO 8601/],
    [['token', 'server', '--target', 'tcp://a:1'], /--target is not a flag of `burrow token server`/],
    [['token', 'inspect', file('u-s.token'), '--relay', RELAY], /--relay is not a flag/],
    [['token', 'client'], /--server-token is required/],
    [['token', 'inspect'], /missing SOURCE/],
    [['token', 'frob'], /unknown token subcommand/],
    [['token', 'server', 'extra'], /unexpected argument/],
  ]
  for (const [args, message] of cases) {
    const res = await runBurrow(args)
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    assert.match(res.stderr, message)
  }
  const again = await runBurrow(['token', 'server', '--output', file('u-s.token')])
  assert.equal(again.code, 3)
  assert.match(again.stderr, /already exists; pass --force/)
  assert.equal((await runBurrow(['token', 'server', '--output', file('u-s.token'), '--force'])).code, 0)
})
