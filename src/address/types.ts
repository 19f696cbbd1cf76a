/**
 * Address types. An address string says how to reach one node over one or more transports, in the
 * multiserver grammar (DESIGN.md decision 5):
 *
 *   tcp:relay.example.com:7000~noise:<id>;wss://relay.example.com/burrow~noise:<id>
 *   \______ protocol ______/ \_transform_/ \______ protocol _______/ \_transform_/
 *   \________________ alternative 1 ______/ \____________ alternative 2 ________/
 *
 * `;` separates alternatives, `~` separates a protocol from its transforms, `:` separates a name
 * from its arguments, and `!` escapes the next of `!`, `~`, `:`, `;`. Names match
 * `[a-z][a-z0-9-]+`; argument bytes are 0x22-0x39 and 0x3C-0x7D, or escapes.
 */

/** One protocol or transform: a name and its arguments, unescaped (`tcp:!:!:1:7000` -> tcp, ['::1', '7000']). */
export interface AddressPart {
  readonly name: string
  readonly args: readonly string[]
}

/** One way to reach a node: a protocol, then zero or more transforms applied over it in order. */
export interface AddressAlternative {
  readonly protocol: AddressPart
  readonly transforms: readonly AddressPart[]
}

/** A whole address string: its alternatives in order of preference. */
export type MultiAddress = readonly AddressAlternative[]

/**
 * Where an address is reachable from. `device`: this machine only (unix sockets, loopback);
 * `local`: the LAN (private, link-local and unique-local addresses, `.local` names); `public`:
 * anywhere (public addresses and other DNS names). A scope includes the wider ones: formatting
 * for `local` keeps local and public alternatives, for `public` only public ones.
 */
export type Scope = 'device' | 'local' | 'public'

/** A protocol part, typed. Hosts are bare (an IPv6 host has no brackets). */
export type TransportAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'ws' | 'wss'; readonly host: string; readonly port: number; readonly path: string }

/**
 * A typed alternative: where to connect and, with a `noise:<id>` transform, which node must answer.
 * With a further `tunnel:<id>` transform, the node there is a relay and the address reaches the
 * peer `<id>` through it: `tcp:relay.example.com:7000~noise:<relay id>~tunnel:<server id>`.
 */
export interface NodeAddress {
  readonly transport: TransportAddress
  /** The id the remote must prove (from `~noise:<id>`); absent when the address names no key. */
  readonly id?: string
  /** The peer to reach through the relay at this address (from `~tunnel:<id>`); needs `id`. */
  readonly tunnel?: string
}
