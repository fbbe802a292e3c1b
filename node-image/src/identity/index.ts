export {
  KeyFileError,
  SEED_LENGTH,
  PUBLIC_KEY_LENGTH,
  generateSeed,
  encodePrivateKeyPem,
  decodePrivateKeyPem,
  encodePublicKeyPem,
  decodePublicKeyPem,
  privateKeyObject,
  publicKeyObject,
  seedFromPrivateKey,
  readKeyFile,
  writeKeyFile,
  loadOrCreateKey
} from './key-file.ts'
export type { KeyFileErrorCode } from './key-file.ts'
export { PeerIdError, peerIdFromSeed, peerIdFromPrivateKeyPem, publicKeyFromPeerId } from './peer-id.ts'
export { SwarmKeyError, generateSwarmKey, parseSwarmKey, swarmKeyBytes } from './swarm-key.ts'
export {
  MembershipError,
  MEMBERSHIP_REJECT_REASONS,
  MembershipCertificateSchema,
  createCa,
  issueCertificate,
  encodeCertificate,
  decodeCertificate,
  verifyCertificate,
  checkCertificateTime
} from './membership.ts'
export type { MembershipCertificate, MembershipRejectReason, VerifyCertificateOptions } from './membership.ts'
