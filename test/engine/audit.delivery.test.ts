import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { deliverEvents, deliveryBody, isRetryableStatus, type DeliveryOptions, type SendBody } from '../../nodes/engine/audit/delivery';
import type { AuditEvent } from '../../nodes/engine/audit/types';
import { sign, verifySignature, type SignatureSettings } from '../../nodes/engine/signature';
import { SyncError } from '../../nodes/engine/errors';

function event(n: number): AuditEvent {
	return {
		id: `event-${n}`,
		time: '2030-01-01T00:00:00.000Z',
		syncId: 'contacts',
		executionId: null,
		workflowId: null,
		workflowName: null,
		node: null,
		source: { system: 'crm', key: `c${n}` },
		target: null,
		entityId: null,
		correlationId: `corr-${n}`,
		op: 'none',
		reason: 'echo',
		changedFields: [],
		changes: {},
		resolution: null,
		status: 'echo',
		error: null,
		retry: null,
	};
}

const events = [1, 2, 3, 4, 5].map(event);

/** A fake endpoint answering with the given statuses (a thrown Error stands for a network failure), then 200. */
function endpoint(replies: Array<number | Error> = []) {
	const bodies: string[] = [];
	const send: SendBody = async (body) => {
		bodies.push(body);
		const reply = replies.shift() ?? 200;
		if (reply instanceof Error) throw reply;
		return { status: reply };
	};
	return { send, bodies, keys: () => bodies.map((body) => (JSON.parse(body) as AuditEvent[]).map((e) => e.source.key)) };
}

function options(extra: Partial<DeliveryOptions> = {}) {
	const waits: number[] = [];
	return {
		waits,
		options: {
			batchSize: 2,
			policy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
			format: 'jsonArray' as const,
			sleep: async (ms: number) => {
				waits.push(ms);
			},
			...extra,
		},
	};
}

describe('HTTP delivery of audit events', () => {
	it('sends the events in batches, in order', async () => {
		const target = endpoint();
		const { options: settings, waits } = options();
		const outcome = await deliverEvents(events, target.send, settings);
		expect(target.keys()).toEqual([['c1', 'c2'], ['c3', 'c4'], ['c5']]);
		expect(outcome).toEqual({ delivered: events, undelivered: [], error: null, requests: 3 });
		expect(waits).toEqual([]);
	});

	it('retries a busy or broken endpoint with a delay that doubles', async () => {
		const target = endpoint([503, new Error('ECONNRESET'), 200, 429]);
		const { options: settings, waits } = options();
		const outcome = await deliverEvents(events, target.send, settings);
		expect(outcome.delivered).toEqual(events);
		expect(outcome.requests).toBe(6);
		expect(waits).toEqual([100, 200, 100]);
	});

	it('gives back the failed batch and everything after it, with the reason', async () => {
		const target = endpoint([200, 503, 503, 503]);
		const { options: settings, waits } = options();
		const outcome = await deliverEvents(events, target.send, settings);
		expect(outcome).toEqual({
			delivered: events.slice(0, 2),
			undelivered: events.slice(2),
			error: 'The endpoint answered HTTP 503',
			requests: 4,
		});
		expect(waits).toEqual([100, 200]);
	});

	it('does not retry a request the endpoint refuses', async () => {
		const target = endpoint([401]);
		const { options: settings, waits } = options();
		const outcome = await deliverEvents(events, target.send, settings);
		expect(outcome).toMatchObject({ delivered: [], undelivered: events, error: 'The endpoint answered HTTP 401', requests: 1 });
		expect(waits).toEqual([]);
	});

	it('keeps secrets out of the reason it gives', async () => {
		const target = endpoint([new Error('connect failed for token s3cr3t-value')]);
		const { options: settings } = options({ policy: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, scrub: (text) => text.replace('s3cr3t-value', '***') });
		const outcome = await deliverEvents(events, target.send, settings);
		expect(outcome.error).toBe('The endpoint could not be reached: connect failed for token ***');
	});

	it.each([
		[408, true],
		[425, true],
		[429, true],
		[500, true],
		[503, true],
		[400, false],
		[401, false],
		[404, false],
		[413, false],
	])('treats HTTP %i as retryable: %s', (status, retryable) => {
		expect(isRetryableStatus(status)).toBe(retryable);
	});

	it('writes JSON Lines with one event per line', () => {
		const { body, contentType } = deliveryBody(events.slice(0, 2), 'jsonLines');
		expect(contentType).toBe('application/x-ndjson');
		expect(body.split('\n')).toEqual([JSON.stringify(events[0]), JSON.stringify(events[1]), '']);
		expect(deliveryBody(events.slice(0, 1), 'jsonArray')).toEqual({ body: JSON.stringify([events[0]]), contentType: 'application/json' });
	});

	it.each([
		[{ batchSize: 0 }, 'batch size'],
		[{ policy: { maxAttempts: 0, baseDelayMs: 0, maxDelayMs: 0 } }, 'attempts'],
		[{ policy: { maxAttempts: 1, baseDelayMs: -1, maxDelayMs: 0 } }, 'retry delays'],
	])('refuses the settings %j', async (extra, message) => {
		const { options: settings } = options(extra as Partial<DeliveryOptions>);
		await expect(deliverEvents(events, endpoint().send, settings)).rejects.toThrow(SyncError);
		await expect(deliverEvents(events, endpoint().send, settings)).rejects.toThrow(message);
	});

	describe('against a real endpoint on 127.0.0.1', () => {
		const settings: SignatureSettings = {
			secret: 'collector-shared-secret',
			headerName: 'X-Signature',
			algorithm: 'sha256',
			encoding: 'base64',
			prefix: '',
			timestampHeader: 'X-Timestamp',
			toleranceSeconds: 60,
			payloadFormat: '{timestamp}.{body}',
		};
		let server: Server;
		const received: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
		let statuses: number[] = [];

		beforeAll(async () => {
			server = createServer((request, response) => {
				const chunks: Buffer[] = [];
				request.on('data', (chunk: Buffer) => chunks.push(chunk));
				request.on('end', () => {
					const body = Buffer.concat(chunks);
					received.push({ headers: request.headers, body });
					const check = verifySignature(settings, { headers: request.headers, rawBody: body });
					response.statusCode = check.ok ? (statuses.shift() ?? 204) : 401;
					response.end();
				});
			});
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		});

		afterAll(async () => {
			await new Promise<void>((resolve) => server.close(() => resolve()));
		});

		const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
		const send: SendBody = async (body, headers) => {
			const response = await fetch(url(), { method: 'POST', body, headers });
			return { status: response.status };
		};
		const signed = (secret = settings.secret) => (body: string) => {
			const timestamp = String(Math.floor(Date.now() / 1000));
			return { [settings.headerName]: sign({ ...settings, secret }, Buffer.from(body), timestamp), [settings.timestampHeader]: timestamp };
		};

		it('delivers signed bodies that the endpoint accepts, re-signing each retry', async () => {
			received.length = 0;
			statuses = [500];
			const { options: delivery } = options({ batchSize: 5, sign: signed() });
			const outcome = await deliverEvents(events, send, delivery);
			expect(outcome).toMatchObject({ undelivered: [], error: null, requests: 2 });
			expect(received).toHaveLength(2);
			expect(JSON.parse(received[1].body.toString('utf8'))).toEqual(events);
			expect(received[1].headers['content-type']).toBe('application/json');
		});

		it('is refused by the endpoint when signed with another secret', async () => {
			received.length = 0;
			const { options: delivery } = options({ sign: signed('a-wrong-secret') });
			const outcome = await deliverEvents(events, send, delivery);
			expect(outcome).toMatchObject({ delivered: [], error: 'The endpoint answered HTTP 401', requests: 1 });
		});
	});
});
