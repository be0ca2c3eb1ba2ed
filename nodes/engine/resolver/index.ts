export { resolveChanges, sourceIndexes } from './resolve';
export { mergeVersions } from './merge';
export { knownThroughX, liveKey, pairChanges } from './pairing';
export { matchKeyOf, parseTimestamp, sameValue } from './values';
export type * from './types';
