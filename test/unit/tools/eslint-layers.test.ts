import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { ESLint } from 'eslint'

const root = path.resolve(import.meta.dirname, '../../..')
const eslint = new ESLint({ cwd: root })

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) })
  return (result?.messages ?? []).filter((m) => m.ruleId === 'burrow/layers').map((m) => m.message)
}

test('a downward import passes the layer rule', async () => {
  assert.deepEqual(
    await layerErrors('src/mux/x.ts', "import { a } from '../secure/channel.ts'\nexport const b = a\n"),
    [],
  )
  assert.deepEqual(
    await layerErrors('src/identity/x.ts', "import { a } from '../errors.ts'\nexport const b = a\n"),
    [],
  )
})

test('a deliberate upward import fails the layer rule', async () => {
  const errors = await layerErrors(
    'src/identity/x.ts',
    "import { a } from '../mux/session.ts'\nexport const b = a\n",
  )
  assert.equal(errors.length, 1)
  assert.match(errors[0] ?? '', /may not import 'mux.session\.ts'/)
  assert.equal((await layerErrors('src/transport/x.ts', "export { a } from '../peer/open.ts'\n")).length, 1)
  assert.equal(
    (await layerErrors('src/secure/x.ts', "const m = await import('../relay/server.ts')\nexport default m\n"))
      .length,
    1,
  )
})

test('types.ts files may import types only', async () => {
  const value = await layerErrors(
    'src/mux/types.ts',
    "import { a } from './session.ts'\nexport const b = a\n",
  )
  assert.match(value[0] ?? '', /types.ts files hold interfaces only/)
  assert.deepEqual(
    await layerErrors('src/mux/types.ts', "import type { A } from './session.ts'\nexport type B = A\n"),
    [],
  )
})
