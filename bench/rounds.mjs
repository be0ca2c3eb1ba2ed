// Timed rounds of the engine benchmarks: a full garbage collection before each round, so a round
// does not pay for the garbage of the round before it (a run of 100k pairs leaves some 140 MB
// behind), and the median of the rounds. The floors and the engines get the same treatment.
// After the collection, V8 goes on sweeping the heap on its helper threads; on a 2-core machine
// they take the core of the round that follows (a 90 ms floor measured 200 ms wall), so the
// round starts only once the process is idle.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = globalThis.gc ?? runInNewContext('gc');

const pause = new Int32Array(new SharedArrayBuffer(4));
const IDLE_CHECK_MS = 20;
const MAX_SETTLE_MS = 2000;

export function settleHeap() {
	collect();
	// Idle: the helper threads used under a tenth of the check's time.
	for (let waited = 0; waited < MAX_SETTLE_MS; waited += IDLE_CHECK_MS) {
		const before = process.cpuUsage();
		Atomics.wait(pause, 0, 0, IDLE_CHECK_MS);
		const used = process.cpuUsage(before);
		if ((used.user + used.system) / 1000 < IDLE_CHECK_MS / 10) return;
	}
}

/** The middle value of timed rounds: unlike the least, one lucky round does not set it. */
export function median(values) {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
