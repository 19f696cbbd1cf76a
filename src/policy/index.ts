/**
 * The policy layer (pure but for DNS and file reads): which clients may connect to a server peer
 * and which targets they may reach. See docs/policy.md.
 */
export {
  ALL_PORTS,
  MAX_PORT,
  MAX_RULE_LENGTH,
  TargetPolicy,
  formatTargetRule,
  parseTargetRule,
  type PortRange,
  type TargetProtocol,
  type TargetRule,
} from './targets.ts'
export {
  RESOLVE_TIMEOUT_MS,
  resolveTarget,
  type LookupAddress,
  type ResolveTargetOptions,
  type ResolvedTarget,
  type TargetLookup,
} from './resolve.ts'
export { MAX_TARGET_URL_LENGTH, formatTargetUrl, parseTargetUrl, type TargetUrl } from './url.ts'
export {
  MAX_ALLOW_FILE_BYTES,
  MAX_CLIENT_NAME_LENGTH,
  checkClientIds,
  parseAllowFile,
  type AllowEntry,
} from './allow-file.ts'
export {
  ClientAllowList,
  WATCH_DEBOUNCE_MS,
  type AllowListChange,
  type ClientAllowListEvents,
  type ClientAllowListOptions,
} from './clients.ts'
