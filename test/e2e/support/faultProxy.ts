import { request, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// A fault-injecting HTTP proxy on 127.0.0.1, in front of Parse Server: what the workflows see when
// the CRM is flaky. Faults are drawn from a seeded generator, so a run is repeatable, and they are
// bounded (a cap on their number, and every held request ends after `hangMs`).

/** What the proxy does with one write. */
export type FaultKind =
	/** Answers 500 without forwarding: nothing was written. */
	| 'error500'
	/** Holds the request, never forwards it, and drops the connection after `hangMs`: the client times out first. */
	| 'timeout'
	/** Forwards the write, then answers 502 instead of Parse's answer: written, but the client cannot know. */
	| 'lostResponse';

export interface FaultProxyOptions {
	/** Parse's origin, e.g. http://127.0.0.1:1337 */
	target: string;
	seed: number;
	/** Share of writes (POST, PUT, DELETE) that fail while faults are on, 0..1. */
	writeFailureRate: number;
	/** The kinds to draw from, evenly. */
	kinds: FaultKind[];
	/** How long a `timeout` fault holds the request; longer than the client's own timeout. */
	hangMs: number;
	/** No more faults than this, whatever the rate. */
	maxFaults: number;
}

export interface FaultCounts {
	writes: number;
	forwardedWrites: number;
	faults: Record<FaultKind, number>;
	/** Of `faults`, those asked for with failNextWrites rather than drawn. */
	forcedFaults: number;
	truncatedReads: number;
}

/** Called before a write is forwarded; the proxy waits for it (e.g. to stop a database mid-run). */
export type WriteHook = (method: string, path: string) => Promise<void> | void;

export interface FaultProxy {
	/** http://127.0.0.1:<port> */
	origin: string;
	/** Turns write faults on or off (off at start). */
	setFaults(on: boolean): void;
	/** Fails the next `count` writes with `kind`, whether faults are on or not. */
	failNextWrites(count: number, kind: FaultKind): void;
	/** While on, a read of a class answers only the first half of its results. */
	setTruncateReads(on: boolean): void;
	setWriteHook(hook: WriteHook | undefined): void;
	counts(): FaultCounts;
	stop(): Promise<void>;
}

/** mulberry32: a small, seedable generator; enough to pick faults repeatably. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'DELETE']);

function readBody(stream: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		stream.on('data', (chunk: Buffer) => chunks.push(chunk));
		stream.on('end', () => resolve(Buffer.concat(chunks)));
		stream.on('error', reject);
	});
}

function forward(target: URL, incoming: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
	return new Promise((resolve, reject) => {
		const outgoing = request(
			{
				host: target.hostname,
				port: target.port,
				method: incoming.method,
				path: incoming.url,
				headers: { ...incoming.headers, host: target.host, 'content-length': String(body.length) },
			},
			(response) => {
				readBody(response).then((answer) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: answer }), reject);
			},
		);
		outgoing.on('error', reject);
		outgoing.end(body);
	});
}

function answer(response: ServerResponse, status: number, headers: IncomingMessage['headers'], body: Buffer): void {
	const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = headers;
	response.writeHead(status, { ...rest, 'content-length': String(body.length) });
	response.end(body);
}

function answerJson(response: ServerResponse, status: number, value: unknown): void {
	answer(response, status, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(value)));
}

/** Only the first half of `results`, as a read that stopped half way would return. */
function truncated(body: Buffer): Buffer | undefined {
	try {
		const parsed = JSON.parse(body.toString('utf8')) as { results?: unknown[] };
		if (!Array.isArray(parsed.results)) return undefined;
		return Buffer.from(JSON.stringify({ ...parsed, results: parsed.results.slice(0, Math.floor(parsed.results.length / 2)) }));
	} catch {
		return undefined;
	}
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
	const target = new URL(options.target);
	const random = seededRandom(options.seed);
	const counts: FaultCounts = { writes: 0, forwardedWrites: 0, faults: { error500: 0, timeout: 0, lostResponse: 0 }, forcedFaults: 0, truncatedReads: 0 };
	let faultsOn = false;
	let truncateReads = false;
	let writeHook: WriteHook | undefined;
	let forced: { count: number; kind: FaultKind } = { count: 0, kind: 'error500' };
	const held = new Set<NodeJS.Timeout>();
	const sockets = new Set<Socket>();

	const drawFault = (): FaultKind | undefined => {
		if (forced.count > 0) {
			forced.count--;
			counts.forcedFaults++;
			return forced.kind;
		}
		if (!faultsOn) return undefined;
		const total = Object.values(counts.faults).reduce((sum, count) => sum + count, 0);
		// Draw both numbers every time, so the sequence does not depend on the cap.
		const hit = random() < options.writeFailureRate;
		const kind = options.kinds[Math.floor(random() * options.kinds.length)];
		return hit && total < options.maxFaults ? kind : undefined;
	};

	const server = createServer((incoming, response) => {
		void (async () => {
			const method = incoming.method ?? 'GET';
			const body = await readBody(incoming);
			if (!WRITE_METHODS.has(method)) {
				const forwarded = await forward(target, incoming, body);
				const cut = truncateReads && method === 'GET' && /\/classes\//.test(incoming.url ?? '') ? truncated(forwarded.body) : undefined;
				if (cut) counts.truncatedReads++;
				answer(response, forwarded.status, forwarded.headers, cut ?? forwarded.body);
				return;
			}
			counts.writes++;
			const fault = drawFault();
			if (fault) counts.faults[fault]++;
			if (fault === 'error500') {
				answerJson(response, 500, { code: 1, error: 'Injected fault: internal server error' });
				return;
			}
			if (fault === 'timeout') {
				const timer = setTimeout(() => {
					held.delete(timer);
					incoming.socket.destroy();
				}, options.hangMs);
				held.add(timer);
				return;
			}
			await writeHook?.(method, incoming.url ?? '');
			const forwarded = await forward(target, incoming, body);
			counts.forwardedWrites++;
			if (fault === 'lostResponse') {
				answerJson(response, 502, { code: 1, error: 'Injected fault: the answer was lost' });
				return;
			}
			answer(response, forwarded.status, forwarded.headers, forwarded.body);
		})().catch((error: unknown) => {
			if (!response.headersSent) answerJson(response, 502, { code: 1, error: `Fault proxy: ${String(error)}` });
			else response.destroy();
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const { port } = server.address() as AddressInfo;

	return {
		origin: `http://127.0.0.1:${port}`,
		setFaults: (on) => {
			faultsOn = on;
		},
		failNextWrites: (count, kind) => {
			forced = { count, kind };
		},
		setTruncateReads: (on) => {
			truncateReads = on;
		},
		setWriteHook: (hook) => {
			writeHook = hook;
		},
		counts: () => structuredClone(counts),
		stop: async () => {
			for (const timer of held) clearTimeout(timer);
			held.clear();
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
