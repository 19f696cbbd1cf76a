/**
 * npm run bench — every benchmark, in one run, printing each table. Each bench also runs alone:
 *   npm run bench:link    transport + Noise + mux against TCP and TLS 1.3 (bench/link.ts)
 *   npm run bench:relay   a relayed tunnel against ssh -J, ssh -L and socat (bench/relay.ts)
 *   npm run bench:expose  a public port on the relay (burrow expose) against ssh -R (bench/expose.ts)
 */
import { runLinkBench } from './link.ts'
import { printRelayResults, runRelayBench } from './relay.ts'
import { printExposeResults, runExposeBench } from './expose.ts'
import { machine, printTable } from './lib/stats.ts'

console.log(`burrow benchmarks: ${machine()}`)
for (const layout of ['pair', 'split'] as const) {
  console.log(`\nlink, layout: ${layout}`)
  printTable(
    await runLinkBench(layout),
    ['tcp', 'tls', 'tls-chacha', 'burrow'],
    [
      ['burrow', 'tls'],
      ['burrow', 'tls-chacha'],
      ['burrow', 'tcp'],
    ],
  )
}
console.log('\nrelayed path')
printRelayResults(await runRelayBench())
console.log('\npublic ports (expose)')
printExposeResults(await runExposeBench())
process.exit(0)
