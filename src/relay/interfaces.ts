/**
 * The addresses a wildcard bind (0.0.0.0, ::) is reachable at: one per interface address of the
 * matching family, so a relay can print every way to reach it, each in its scope.
 */
import { networkInterfaces } from 'node:os'
import type { TransportAddress } from '../address/types.ts'

export function expandAddresses(bound: TransportAddress): TransportAddress[] {
  if (bound.kind === 'unix') return [bound]
  const wildcard4 = bound.host === '0.0.0.0'
  const wildcard6 = bound.host === '::'
  if (!wildcard4 && !wildcard6) return [bound]
  const out: TransportAddress[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === 'IPv4' || (wildcard6 && i.family === 'IPv6' && !i.address.startsWith('fe80:'))) {
        out.push({ ...bound, host: i.address })
      }
    }
  }
  return out
}
