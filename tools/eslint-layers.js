// A local ESLint rule that keeps burrow's layers one-way (DESIGN.md, "Layers"): a module under src/
// imports only from its own layer or the layers below it, and a `types.ts` file imports only types.
import path from 'node:path'

/** Lowest first. Folders of the same rank may import each other; files at src/ root are shared base. */
export const LAYERS = [
  ['errors.ts', 'constants.ts', 'util', 'codec', 'identity', 'address', 'token', 'policy'],
  ['transport'],
  ['secure'],
  ['mux'],
  ['relay', 'nat'],
  ['peer'],
  ['compat', 'metrics', 'config'],
  ['cli', 'index.ts'],
]

const rankOf = (rel) => {
  const head = rel.split(path.sep)[0]
  const rank = LAYERS.findIndex((names) => names.includes(head))
  return rank === -1 ? undefined : rank
}

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the one-way import order of the layers in DESIGN.md' },
    schema: [],
    messages: {
      upward:
        "layer '{{from}}' (rank {{fromRank}}) may not import '{{to}}' (rank {{toRank}}): imports go downward only",
      unknown: "'{{name}}' is not in any layer; add it to LAYERS in tools/eslint-layers.js",
      typesOnly: 'types.ts files hold interfaces only: use `import type` (got a value import of {{to}})',
    },
  },
  create(context) {
    const file = context.filename
    const srcDir = path.join(context.cwd, 'src')
    if (!file.startsWith(srcDir + path.sep)) return {}
    const fromRel = path.relative(srcDir, file)
    const fromRank = rankOf(fromRel)
    const isTypes = path.basename(file) === 'types.ts'
    const check = (node, source, typeOnly) => {
      if (fromRank === undefined) {
        context.report({ node, messageId: 'unknown', data: { name: fromRel.split(path.sep)[0] } })
        return
      }
      const spec = source.value
      if (typeof spec !== 'string' || !spec.startsWith('.')) return
      const target = path.resolve(path.dirname(file), spec)
      const toRel = path.relative(srcDir, target)
      if (toRel.startsWith('..')) return
      const toRank = rankOf(toRel)
      if (toRank === undefined) {
        context.report({ node, messageId: 'unknown', data: { name: toRel.split(path.sep)[0] } })
      } else if (toRank > fromRank) {
        context.report({
          node,
          messageId: 'upward',
          data: { from: fromRel, fromRank, to: toRel, toRank },
        })
      }
      if (isTypes && !typeOnly && path.basename(target).replace(/\.[jt]s$/, '') !== 'types') {
        context.report({ node, messageId: 'typesOnly', data: { to: spec } })
      }
    }
    return {
      ImportDeclaration: (node) => check(node, node.source, node.importKind === 'type'),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source, node.exportKind === 'type'),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source, false),
    }
  },
}

export default { rules: { layers } }
