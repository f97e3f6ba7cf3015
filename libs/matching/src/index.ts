// @vigil/matching: which known hashes lie within distance r of this one. Pure: no I/O.
export { createHammingKernel, hammingDistance256, HASH_BYTES, type HammingKernel } from './hamming-kernel.ts';
export {
  chooseSubstrings,
  HammingIndex,
  substringLayout,
  substringValue,
  type HammingIndexOptions,
  type IndexStats,
  type RadiusMatch,
} from './hamming-index.ts';
export {
  HEX_LENGTH,
  LIST_ALGORITHMS,
  parseList,
  parseNcmecCsv,
  parsePlainList,
  parseThreatExchangePdq,
  type ListAlgorithm,
  type ListFormat,
  type ParsedEntry,
  type ParseIssue,
  type ParseResult,
} from './list-formats.ts';
export {
  bytesToHex,
  DIHEDRAL_VARIANTS,
  EXACT_ALGORITHMS,
  hexToBytes,
  isPerceptual,
  LIST_ACTIONS,
  ListMatcher,
  PERCEPTUAL_ALGORITHMS,
  type DihedralVariant,
  type ExtraQuery,
  type ExtraQuerySource,
  type ListAction,
  type ListDescriptor,
  type ListEntryInput,
  type Match,
  type MatchAlgorithm,
  type MatchVariant,
  type QueryHashes,
} from './list-matcher.ts';
export { diffListVersions, entryKey, type ListDiff, type VersionedEntry } from './list-diff.ts';
