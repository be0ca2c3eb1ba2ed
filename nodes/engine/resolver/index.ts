export { resolveChanges, sourceIndexes } from './resolve';
export { mergeVersions } from './merge';
export { pairChanges, liveKey } from './pairing';
export { matchKeyOf, parseTimestamp, sameValue } from './values';
export type * from './types';
