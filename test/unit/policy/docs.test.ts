// docs/policy.md shows rules and an allow file; keep its examples true.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseAllowFile } from '../../../src/policy/allow-file.ts'
import { parseTargetRule } from '../../../src/policy/targets.ts'

const doc = readFileSync(new URL('../../../docs/policy.md', import.meta.url), 'utf8')
/** The text from the first match of `from` to the next match of `to` (prettier pads tables, so regexes). */
function section(from: RegExp, to: RegExp): string {
  const start = doc.search(from)
  assert.ok(start !== -1, `docs/policy.md has ${from}`)
  const end = doc.slice(start).search(to)
  return doc.slice(start, end === -1 ? undefined : start + end)
}
/** The code spans in the first column of a table's rows. */
const firstColumn = (text: string): string[] =>
  [...text.matchAll(/^\| (.+?) \|/gm)].flatMap((m) =>
    [...(m[1] ?? '').matchAll(/`([^`]+)`/g)].map((c) => c[1] ?? ''),
  )

test('every rule in the "allows" table parses', () => {
  const rules = firstColumn(section(/^\| rule +\| allows/m, /^Refused, with/m))
  assert.ok(rules.length >= 8)
  for (const rule of rules) parseTargetRule(rule)
})

test('every rule in the "refused" table is refused', () => {
  const rules = firstColumn(section(/^\| rule +\| why/m, /^Port lists are normalised/m))
  assert.ok(rules.length >= 8)
  for (const rule of rules)
    assert.throws(() => parseTargetRule(rule), { code: 'TUN_ERR_INVALID_ARGUMENT' }, rule)
})

test('the allow file example parses', () => {
  const block = section(/^## The allowed-clients file/m, /^### Reloading/m).split('```')[1] ?? ''
  assert.deepEqual(
    parseAllowFile(block, 'docs').map((e) => e.name),
    ['laptop', 'build server'],
  )
})
