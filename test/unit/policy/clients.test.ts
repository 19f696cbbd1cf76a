import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once, type EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { rename, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import type { TunnelError } from '../../../src/errors.ts'
import { idFromPublicKey } from '../../../src/identity/keys.ts'
import { ClientAllowList, type AllowListChange } from '../../../src/policy/clients.ts'

const newId = (): string => idFromPublicKey(randomBytes(32))
const [a, b, c, d] = [newId(), newId(), newId(), newId()]
/** Bound on every wait for an event: generous for slow CI, never reached when the code works. */
const EVENT_TIMEOUT_MS = 5000

/** The next `name` event, or a rejection after EVENT_TIMEOUT_MS (a timer that keeps the loop alive). */
async function next<T>(emitter: EventEmitter, name: string): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(`no '${name}' event`)), EVENT_TIMEOUT_MS)
  try {
    const [value] = (await once(emitter, name, { signal: controller.signal })) as [T]
    return value
  } finally {
    clearTimeout(timer)
  }
}

const sorted = (change: AllowListChange): AllowListChange => ({
  added: [...change.added].sort(),
  removed: [...change.removed].sort(),
})

let dir: string
let file: string
let list: ClientAllowList | undefined
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'burrow-allow-'))
  file = path.join(dir, 'clients.txt')
})
afterEach(() => {
  list?.close()
  list = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('ClientAllowList', () => {
  test('command-line ids and file entries, with names', () => {
    writeFileSync(file, `${b} laptop\n${c}\n${a} dup-of-cli\n`)
    list = new ClientAllowList({ ids: [a], file })
    assert.equal(list.size, 3)
    assert.deepEqual(list.ids(), [a, b, c])
    assert.ok(list.has(a) && list.has(b) && list.has(c))
    assert.equal(list.has(d), false)
    assert.equal(list.nameOf(b), 'laptop')
    assert.equal(list.nameOf(a), 'dup-of-cli')
    assert.equal(list.nameOf(c), undefined)
    assert.equal(list.file, path.resolve(file))
  })

  test('no ids and no file allows nobody', () => {
    list = new ClientAllowList()
    assert.equal(list.size, 0)
    assert.equal(list.has(a), false)
  })

  test('startup errors: missing file, bad id on the command line, bad file line', () => {
    assert.throws(() => new ClientAllowList({ file: path.join(dir, 'missing.txt') }), {
      code: 'TUN_ERR_FILE_NOT_FOUND',
      message: /missing\.txt does not exist/,
    })
    assert.throws(() => new ClientAllowList({ ids: ['nope'] }), { code: 'TUN_ERR_ID_INVALID' })
    writeFileSync(file, `${a}\n\n  oops\n`)
    assert.throws(() => new ClientAllowList({ file }), {
      code: 'TUN_ERR_ID_INVALID',
      message: /clients\.txt:3: /,
    })
    assert.throws(() => new ClientAllowList({ file: dir }), {
      code: 'TUN_ERR_INVALID_ARGUMENT',
      message: /not a regular file/,
    })
    assert.throws(() => new ClientAllowList({ debounceMs: -1 }), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  })

  test('reload reports added and removed ids and emits change', async () => {
    writeFileSync(file, `${a}\n${b}\n`)
    list = new ClientAllowList({ ids: [d], file })
    const changed = next<AllowListChange>(list, 'change')
    writeFileSync(file, `${b} renamed\n${c}\n`)
    const change = await list.reload()
    assert.deepEqual(sorted(change), sorted({ added: [c], removed: [a] }))
    assert.deepEqual(await changed, change)
    assert.equal(list.nameOf(b), 'renamed')
    assert.ok(list.has(d), 'command-line ids stay')
    // The command-line id is not removed by leaving the file.
    writeFileSync(file, '')
    assert.deepEqual(sorted(await list.reload()), sorted({ added: [], removed: [b, c] }))
    assert.deepEqual(list.ids(), [d])
  })

  test('reload without changes emits nothing', async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file })
    let changes = 0
    list.on('change', () => changes++)
    writeFileSync(file, `${a} now-named\n`)
    assert.deepEqual(await list.reload(), { added: [], removed: [] })
    assert.equal(changes, 0)
    assert.equal(list.nameOf(a), 'now-named')
  })

  test('an invalid or missing file keeps the old list and emits error', async () => {
    writeFileSync(file, `${a}\n${b}\n`)
    list = new ClientAllowList({ file })
    const errors: TunnelError[] = []
    list.on('error', (err) => errors.push(err))
    writeFileSync(file, `${a}\n${b.slice(0, 50)}\n`)
    assert.deepEqual(await list.reload(), { added: [], removed: [] })
    await unlink(file)
    assert.deepEqual(await list.reload(), { added: [], removed: [] })
    assert.deepEqual(list.ids(), [a, b], 'nothing opened or closed')
    assert.deepEqual(
      errors.map((e) => e.code),
      ['TUN_ERR_ID_INVALID', 'TUN_ERR_FILE_NOT_FOUND'],
    )
    assert.match(errors[0]?.message ?? '', /clients\.txt:2: /)
  })

  test('without an error listener a failed reload rejects (never silent)', async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file })
    writeFileSync(file, 'garbage\n')
    await assert.rejects(list.reload(), { code: 'TUN_ERR_ID_INVALID' })
    assert.deepEqual(list.ids(), [a])
  })

  test('concurrent reloads apply in order', async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file })
    const first = list.reload()
    writeFileSync(file, `${b}\n`)
    const second = list.reload()
    await Promise.all([first, second])
    assert.deepEqual(list.ids(), [b])
  })

  test('watch picks up an edit in place', { timeout: 10_000 }, async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file }).watch()
    list.on('error', (err) => assert.fail(err))
    const changed = next<AllowListChange>(list, 'change')
    await writeFile(file, `${a}\n${b}\n`)
    assert.deepEqual(await changed, { added: [b], removed: [] })
    assert.ok(list.has(b))
  })

  test('watch picks up a rename-replace (how editors save)', { timeout: 10_000 }, async () => {
    writeFileSync(file, `${a}\n${b}\n`)
    list = new ClientAllowList({ file, debounceMs: 20 }).watch()
    list.on('error', (err) => assert.fail(err))
    const changed = next<AllowListChange>(list, 'change')
    const tmp = path.join(dir, '.clients.txt.swp')
    await writeFile(tmp, `${b}\n${c}\n`)
    await rename(tmp, file)
    assert.deepEqual(sorted(await changed), sorted({ added: [c], removed: [a] }))
    // And the watch keeps working on the new inode.
    const again = next<AllowListChange>(list, 'change')
    await writeFile(file, `${c}\n`)
    assert.deepEqual(await again, { added: [], removed: [b] })
  })

  test('watch reports an invalid edit as error and keeps the list', { timeout: 10_000 }, async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file }).watch()
    const failed = next<TunnelError>(list, 'error')
    await writeFile(file, `${a}\nnot-an-id\n`)
    assert.equal((await failed).code, 'TUN_ERR_ID_INVALID')
    assert.deepEqual(list.ids(), [a])
    // Fixing the file applies it.
    const changed = next<AllowListChange>(list, 'change')
    await writeFile(file, `${a}\n${d}\n`)
    assert.deepEqual(await changed, { added: [d], removed: [] })
  })

  test('close stops watching', { timeout: 10_000 }, async () => {
    writeFileSync(file, `${a}\n`)
    list = new ClientAllowList({ file, debounceMs: 0 }).watch()
    list.close()
    let changes = 0
    list.on('change', () => changes++)
    await writeFile(file, `${b}\n`)
    // An explicit reload still works and is the only change seen.
    assert.deepEqual(await list.reload(), { added: [b], removed: [a] })
    assert.equal(changes, 1)
    assert.equal(list.watch(), list, 'watch after close is a no-op')
  })
})
