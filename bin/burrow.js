#!/usr/bin/env node
// The burrow command. In a checkout (src/ present) it runs the TypeScript sources through tsx, so
// `npm ci` alone leaves a working CLI; a published package runs the compiled dist/ instead.
import { existsSync } from 'node:fs'

const src = new URL('../src/cli/main.ts', import.meta.url)
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(src.href)
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href)
}
