import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { generateIdentity } from '../../../src/identity/keys.ts'
import { ExposeAllowList } from '../../../src/relay/expose-allow-list.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'burrow-expose-allow-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const [a, b, c] = [generateIdentity().id, generateIdentity().id, generateIdentity().id]

test('reload reports added, removed and changed peers; a bad file keeps the previous grants', async () => {
  const file = path.join(dir, 'reload')
  writeFileSync(file, `${a} *\n${b} 20080\n`)
  const list = new ExposeAllowList(file)
  assert.equal(list.size, 2)
  assert.equal(list.portsOf(a), '*')
  const changes: unknown[] = []
  list.on('change', (ch) => changes.push(ch))
  const errors: Error[] = []
  list.on('error', (err) => errors.push(err))

  writeFileSync(file, `${b} 20081\n${c} *\n`)
  await list.reload()
  assert.deepEqual(changes, [{ added: [c], removed: [a], changed: [b] }])
  assert.equal(list.portsOf(a), undefined)

  writeFileSync(file, `${b} 20081\n${c} not-a-port\n`)
  await list.reload()
  assert.equal(errors.length, 1)
  assert.match(errors[0]?.message ?? '', /reload:2: .*not-a-port/)
  assert.equal(list.portsOf(c), '*', 'the previous table stays')

  writeFileSync(file, `${c} *\n${b} 20081 # same grants, reordered\n`)
  await list.reload()
  assert.equal(changes.length, 1, 'a reload that changes no grant is not a change')
  list.close()
})

test('watch: an edit is picked up without a signal', async () => {
  const file = path.join(dir, 'watched')
  writeFileSync(file, `${a} *\n`)
  const list = new ExposeAllowList(file, { debounceMs: 5 }).watch()
  const changed = once(list, 'change')
  // The watcher and its debounce timer do not keep a process alive (a relay has its sockets): this does.
  const alive = setTimeout(() => {}, 10_000)
  writeFileSync(file, '')
  assert.deepEqual((await changed)[0], { added: [], removed: [a], changed: [] })
  clearTimeout(alive)
  list.close()
})

test('a missing file is TUN_ERR_FILE_NOT_FOUND at start', () => {
  assert.throws(() => new ExposeAllowList(path.join(dir, 'missing')), {
    code: 'TUN_ERR_FILE_NOT_FOUND',
    message: /expose-allow file .* does not exist/,
  })
})
