// docs/tokens.md states the format; keep its examples, domains and limits true.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as token from '../../../src/token/index.ts'

const doc = readFileSync(new URL('../../../docs/tokens.md', import.meta.url), 'utf8')

test('the revocation file example parses: one token id, one client id', () => {
  const block = doc.slice(doc.indexOf('## Revocation')).split('```')[1] ?? ''
  const list = token.parseRevocationList(block, 'docs')
  assert.equal(list.tokenIds.size, 1)
  assert.equal(list.clientIds.size, 1)
})

test('the signature domains table matches SIGNATURE_DOMAIN', () => {
  for (const [structure, domain] of Object.entries(token.SIGNATURE_DOMAIN)) {
    const label = structure === 'grant' ? 'grant' : `${structure} token`
    assert.match(doc, new RegExp(`^\\| ${label} +\\| \`${domain}\` +\\|`, 'm'), structure)
  }
})

test('the limits table matches the constants', () => {
  const rows = [...doc.matchAll(/^\| `(MAX_[A-Z_]+)` +\| (\d+)/gm)]
  assert.ok(rows.length >= 9)
  for (const [, name, value] of rows)
    assert.equal((token as unknown as Record<string, number>)[name ?? ''], Number(value), name)
})
