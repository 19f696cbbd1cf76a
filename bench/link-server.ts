/**
 * The server half of bench/link.ts in its own process (its own core, as across a network). Prints
 * one JSON line with where to reach each server; exits when stdin ends.
 */
import { readFileSync } from 'node:fs'
import { trackPeakRss } from './lib/modes.ts'
import { startBenchServers } from './lib/servers.ts'

const [certPath, keyPath] = process.argv.slice(2)
if (!certPath || !keyPath) throw new Error('usage: link-server.ts CERT KEY')
trackPeakRss()
const { tcp, tls, tlsChacha, burrow } = await startBenchServers(readFileSync(certPath), readFileSync(keyPath))
process.stdout.write(`${JSON.stringify({ tcp, tls, tlsChacha, burrow })}\n`)
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
