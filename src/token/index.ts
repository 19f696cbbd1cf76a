/**
 * Capability tokens (pure but for source.ts's file and stdin reads): server tokens that carry the
 * serving capability, client tokens minted from them, and the grants servers check at every
 * handshake. See docs/tokens.md.
 */
export {
  KIND_BYTE,
  MAX_GRANT_BYTES,
  MAX_NAME_BYTES,
  MAX_RELAY_BYTES,
  MAX_RELAYS,
  MAX_TARGET_BYTES,
  MAX_TARGETS,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_TEXT_LENGTH,
  SIGNATURE_DOMAIN,
  TEXT_PREFIX,
  TOKEN_ID_BYTES,
  TOKEN_VERSION,
} from './wire.ts'
export { MAX_TIME_SECONDS } from './bytes.ts'
export {
  DAY_SECONDS,
  DEFAULT_CLIENT_TOKEN_DAYS,
  DEFAULT_SERVER_TOKEN_DAYS,
  NOT_BEFORE_SKEW_SECONDS,
  isoTime,
  type LifetimeOptions,
  type TokenValidity,
} from './times.ts'
export {
  decodeGrant,
  encodeGrant,
  grantAllowsTarget,
  verifyGrant,
  type Grant,
  type VerifyGrantOptions,
} from './grant.ts'
export {
  decodeClientToken,
  decodeServerToken,
  decodeToken,
  encodeToken,
  identityOf,
  requireKind,
  tokenFromBytes,
  tokenToBytes,
  type ClientToken,
  type ServerToken,
  type Token,
  type TokenKind,
} from './token.ts'
export {
  createServerToken,
  mintClientToken,
  systemRandom,
  type CreateServerTokenOptions,
  type MintClientTokenOptions,
  type RandomSource,
} from './mint.ts'
export { describeToken, tokenValidity, type TokenDescription } from './describe.ts'
export { MAX_REVOCATION_FILE_BYTES, parseRevocationList, type RevocationList } from './revocation.ts'
export {
  MAX_TOKEN_SOURCE_BYTES,
  TOKEN_SOURCE_HINT,
  readTokenSource,
  readTokenText,
  writeTokenFile,
  type TokenSourceOptions,
  type WriteTokenFileOptions,
} from './source.ts'
