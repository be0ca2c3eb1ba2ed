// Timed rounds of the engine benchmarks: a full garbage collection before each round, so a round
// does not pay for the garbage of the round before it (a run of 100k pairs leaves some 140 MB
// behind), and the median of the rounds. The floors and the engines get the same treatment.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = globalThis.gc ?? runInNewContext('gc');

export function settleHeap() {
	collect();
}

/** The middle value of timed rounds: unlike the least, one lucky round does not set it. */
export function median(values) {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
