// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per function,
// optionally only under the calls of one function, or only in the time window between the first
// and the last sample that ran code from some files (async code leaves no single caller to be
// "under": after an await, the stack starts from the microtask queue).
// CLI: node bench/cpuProfile.mjs <file.cpuprofile> [--under <function name>@<url part>] [--window <url part>] [--top N]

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function shortUrl(url) {
	const parts = url.replace(/^file:\/\//, '').split('/node_modules/');
	const tail = parts[parts.length - 1];
	return parts.length > 1 ? tail : tail.split('/').slice(-3).join('/');
}

function label(callFrame) {
	const name = callFrame.functionName || '(anonymous)';
	if (!callFrame.url) return name;
	return `${name} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
}

/** Whether any frame of the stack ending at node `id` satisfies `test`, memoised per node. */
function stackTester(nodes, parent, test) {
	const known = new Map();
	const check = (id) => {
		if (known.has(id)) return known.get(id);
		const answer = test(nodes.get(id)) || (parent.has(id) ? check(parent.get(id)) : false);
		known.set(id, answer);
		return answer;
	};
	return check;
}

/**
 * Self time per function in ms, highest first. `under` ({ functionName, urlIncludes }) keeps only
 * samples taken inside a call of that function; `window` (a test of a script URL) keeps the
 * samples from the first to the last whose stack holds a frame it accepts (it gets the script URL
 * and the function name). `totalMs` is the
 * time of the kept samples. `group` (url, functionName) => name also sums the self time per group.
 */
export function summariseProfile(profile, { under, window, group, top = 15 } = {}) {
	const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	let first = 0;
	let last = profile.samples.length - 1;
	if (window) {
		const ranScript = stackTester(nodes, parent, (node) => window(node.callFrame.url, node.callFrame.functionName));
		first = profile.samples.findIndex((id) => ranScript(id));
		if (first === -1) return { totalMs: 0, windowMs: 0, functions: [] };
		last = profile.samples.findLastIndex((id) => ranScript(id));
	}
	const matches = (node) =>
		node.callFrame.functionName === under.functionName && (!under.urlIncludes || node.callFrame.url.includes(under.urlIncludes));
	const inside = new Map();
	const isInside = (id) => {
		if (!under) return true;
		if (inside.has(id)) return inside.get(id);
		const node = nodes.get(id);
		const answer = matches(node) || (parent.has(id) ? isInside(parent.get(id)) : false);
		inside.set(id, answer);
		return answer;
	};
	// timeDeltas[i] is the time before sample i; each sample stands for the interval that follows it.
	const self = new Map();
	const groups = new Map();
	let totalUs = 0;
	const { samples, timeDeltas } = profile;
	let windowUs = 0;
	for (let index = first; index <= last; index++) {
		const us = timeDeltas[index + 1] ?? 0;
		windowUs += us;
		if (!isInside(samples[index])) continue;
		totalUs += us;
		const { callFrame } = nodes.get(samples[index]);
		const key = label(callFrame);
		self.set(key, (self.get(key) ?? 0) + us);
		if (group) {
			const name = group(callFrame.url, callFrame.functionName);
			groups.set(name, (groups.get(name) ?? 0) + us);
		}
	}
	const functions = [...self.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, top)
		.map(([name, us]) => ({ function: name, selfMs: Math.round(us / 1000), share: totalUs ? Math.round((us / totalUs) * 1000) / 10 : 0 }));
	const share = (us) => (totalUs ? Math.round((us / totalUs) * 1000) / 10 : 0);
	const grouped = [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ group: name, selfMs: Math.round(us / 1000), share: share(us) }));
	return { totalMs: Math.round(totalUs / 1000), windowMs: Math.round(windowUs / 1000), functions, ...(group ? { groups: grouped } : {}) };
}

export function readProfile(file) {
	return JSON.parse(readFileSync(file, 'utf8'));
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
	const [file] = process.argv.slice(2);
	const underIndex = process.argv.indexOf('--under');
	const windowIndex = process.argv.indexOf('--window');
	const window = windowIndex === -1 ? undefined : (url) => url.includes(process.argv[windowIndex + 1]);
	const topIndex = process.argv.indexOf('--top');
	let under;
	if (underIndex !== -1) {
		const [functionName, urlIncludes] = process.argv[underIndex + 1].split('@');
		under = { functionName, urlIncludes };
	}
	const summary = summariseProfile(readProfile(file), { under, window, top: topIndex === -1 ? 25 : Number(process.argv[topIndex + 1]) });
	console.log(`total ${summary.totalMs} ms`);
	for (const row of summary.functions) console.log(`${String(row.selfMs).padStart(7)} ms ${String(row.share).padStart(5)}%  ${row.function}`);
}
