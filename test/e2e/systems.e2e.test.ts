import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	PARSE_SETUP_TIMEOUT_MS,
	demoSystems,
	parseHost,
	startParseStack,
	type CrmContact,
	type ErpCustomer,
	type ParseObject,
	type ParseStack,
	type ParseTriggerBody,
	type RunningDemoSystem,
} from './support/systems';

jest.setTimeout(60_000);

const { parseRequest, createClassSchema, registerTriggerHook, changedSince } = parseHost;
const { startDemoSystem, demoRequest, seedDemo } = demoSystems;

/** True while a process with this pid runs (a zombie that nobody reaped yet counts as gone). */
function processRuns(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
		throw error;
	}
	const stat = `/proc/${pid}/stat`;
	// The state follows the command name in parentheses: "123 (postgres) S ...".
	return !existsSync(stat) || readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
}

/** The pid of a throwaway cluster's postmaster: the first line of its postmaster.pid. */
function postmasterPid(dataDir: string): number {
	return Number(readFileSync(join(dataDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

interface ReceivedCall {
	path: string;
	headers: IncomingHttpHeaders;
	body: ParseTriggerBody;
}

/** A local endpoint for Parse's webhooks: keeps every call and answers as Parse expects. */
async function startHookReceiver(): Promise<{ url: string; calls: ReceivedCall[]; close(): Promise<void> }> {
	const calls: ReceivedCall[] = [];
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			calls.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ParseTriggerBody });
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{"success":true}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	if (!address || typeof address !== 'object') throw new Error('The hook receiver has no port.');
	return {
		url: `http://127.0.0.1:${address.port}`,
		calls,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

const uniqueClass = (prefix: string) => `${prefix}${randomBytes(3).toString('hex')}`;

describe('Parse Server on a password-protected PostgreSQL', () => {
	let stack: ParseStack | undefined;
	let receiver: Awaited<ReturnType<typeof startHookReceiver>> | undefined;
	const parse = () => {
		if (!stack) throw new Error('Parse Server did not start: see beforeAll.');
		return stack.parse;
	};
	const hooks = () => {
		if (!receiver) throw new Error('The hook receiver did not start: see beforeAll.');
		return receiver;
	};

	beforeAll(async () => {
		receiver = await startHookReceiver();
		stack = await startParseStack();
	}, PARSE_SETUP_TIMEOUT_MS);

	afterAll(async () => {
		await stack?.stop();
		await receiver?.close();
	});

	it('answers 403 to a request that carries no key', async () => {
		await expect(parseRequest(parse(), 'GET', '/classes/_User', undefined, { withoutKeys: true })).rejects.toMatchObject({ status: 403 });
	});

	it('lets only the master key create a class, then the REST key write to it', async () => {
		const className = uniqueClass('Contact');
		await expect(parseRequest(parse(), 'POST', `/classes/${className}`, { fullName: 'Ada' })).rejects.toMatchObject({ status: 400, code: 119 });

		await createClassSchema(parse(), className, { fullName: 'String', email: 'String', isActive: { type: 'String' } });
		const created = await parseRequest<{ objectId: string }>(parse(), 'POST', `/classes/${className}`, { fullName: 'Ada', isActive: 'yes' });

		expect(created.objectId).toMatch(/^\w{10}$/);
	});

	it('creates, reads, updates and deletes an object with the REST key', async () => {
		const className = uniqueClass('Contact');
		await createClassSchema(parse(), className, { fullName: 'String', email: 'String' });

		const { objectId } = await parseRequest<{ objectId: string }>(parse(), 'POST', `/classes/${className}`, { fullName: 'Ada Lovelace', email: 'ada@example.com' });
		await parseRequest(parse(), 'PUT', `/classes/${className}/${objectId}`, { email: 'ada.lovelace@example.com' });
		const updated = await parseRequest<ParseObject>(parse(), 'GET', `/classes/${className}/${objectId}`);
		await parseRequest(parse(), 'DELETE', `/classes/${className}/${objectId}`);

		expect(updated).toMatchObject({ objectId, fullName: 'Ada Lovelace', email: 'ada.lovelace@example.com' });
		expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(updated.createdAt));
		await expect(parseRequest(parse(), 'GET', `/classes/${className}/${objectId}`)).rejects.toMatchObject({ status: 404, code: 101 });
	});

	it('finds the objects changed after an updatedAt cursor, oldest first', async () => {
		const className = uniqueClass('Contact');
		await createClassSchema(parse(), className, { fullName: 'String' });
		const first = await parseRequest<{ objectId: string }>(parse(), 'POST', `/classes/${className}`, { fullName: 'First' });
		const second = await parseRequest<{ objectId: string }>(parse(), 'POST', `/classes/${className}`, { fullName: 'Second' });
		const cursor = (await parseRequest<ParseObject>(parse(), 'GET', `/classes/${className}/${second.objectId}`)).updatedAt;

		await parseRequest(parse(), 'PUT', `/classes/${className}/${first.objectId}`, { fullName: 'First, edited' });

		expect((await changedSince(parse(), className, 0)).map((object) => object.fullName)).toEqual(['Second', 'First, edited']);
		expect((await changedSince(parse(), className, cursor)).map((object) => object.objectId)).toEqual([first.objectId]);
	});

	it('calls the afterSave and afterDelete hooks with the webhook key, the object and its previous state', async () => {
		const className = uniqueClass('Hooked');
		await createClassSchema(parse(), className, { fullName: 'String' });
		await registerTriggerHook(parse(), className, 'afterSave', `${hooks().url}/save`);
		await registerTriggerHook(parse(), className, 'afterDelete', `${hooks().url}/delete`);
		const before = hooks().calls.length;

		// Parse answers a write only after its webhook has answered: no waiting needed.
		const { objectId } = await parseRequest<{ objectId: string }>(parse(), 'POST', `/classes/${className}`, { fullName: 'Grace' });
		await parseRequest(parse(), 'PUT', `/classes/${className}/${objectId}`, { fullName: 'Grace Hopper' });
		await parseRequest(parse(), 'DELETE', `/classes/${className}/${objectId}`);
		const [created, updated, deleted] = hooks().calls.slice(before);

		for (const call of [created, updated, deleted]) expect(call.headers['x-parse-webhook-key']).toBe(parse().webhookKey);
		expect(created.path).toBe('/save');
		expect(created.body).toMatchObject({ triggerName: 'afterSave', master: false, object: { objectId, className, fullName: 'Grace' } });
		expect(created.body.original).toBeUndefined();
		expect(updated.body).toMatchObject({
			triggerName: 'afterSave',
			object: { objectId, fullName: 'Grace Hopper' },
			original: { objectId, fullName: 'Grace' },
		});
		expect(deleted.path).toBe('/delete');
		expect(deleted.body).toMatchObject({ triggerName: 'afterDelete', object: { objectId, fullName: 'Grace Hopper' } });
		expect(deleted.body.original).toBeUndefined();
	});

	it("passes the writer's own request headers, its REST key included, to the webhook", async () => {
		const className = uniqueClass('Hooked');
		await createClassSchema(parse(), className, { fullName: 'String' });
		await registerTriggerHook(parse(), className, 'afterSave', `${hooks().url}/save`);
		const before = hooks().calls.length;

		await parseRequest(parse(), 'POST', `/classes/${className}`, { fullName: 'Alan' });

		expect(hooks().calls[before].body.headers['x-parse-rest-api-key']).toBe(parse().restApiKey);
	});

	it('moves a trigger to a new URL when it is registered again', async () => {
		const className = uniqueClass('Hooked');
		await createClassSchema(parse(), className, { fullName: 'String' });
		await registerTriggerHook(parse(), className, 'afterSave', `${hooks().url}/old`);
		await registerTriggerHook(parse(), className, 'afterSave', `${hooks().url}/new`);
		const before = hooks().calls.length;

		await parseRequest(parse(), 'POST', `/classes/${className}`, { fullName: 'Edsger' });

		expect(hooks().calls.slice(before).map((call) => call.path)).toEqual(['/new']);
	});

	it('stops Parse Server and its PostgreSQL by pid', async () => {
		const parsePid = parse().pid;
		const postgresPid = postmasterPid(stack?.postgres.dataDir ?? '');
		expect(processRuns(parsePid)).toBe(true);
		expect(processRuns(postgresPid)).toBe(true);

		await stack?.stop();

		expect(processRuns(parsePid)).toBe(false);
		expect(processRuns(postgresPid)).toBe(false);
	});
});

describe('the demo CRM and ERP', () => {
	const apiKey = randomBytes(16).toString('hex');
	let dataDir = '';
	const running: RunningDemoSystem[] = [];
	const start = async (kind: 'crm' | 'erp', dataFile = join(dataDir, `${kind}-${randomBytes(3).toString('hex')}.sqlite`)) => {
		const system = await startDemoSystem({ kind, dataFile, apiKey });
		running.push(system);
		return system;
	};

	beforeAll(async () => {
		dataDir = await mkdtemp(join(tmpdir(), 'tws-demo-systems-'));
	});

	afterAll(async () => {
		for (const system of running) await system.stop();
		await rm(dataDir, { recursive: true, force: true });
	});

	it('answers 401 without the API key or with a wrong one, and tells which header to send', async () => {
		const crm = await start('crm');
		const erp = await start('erp');

		await expect(demoRequest(crm, 'GET', '/contacts', undefined, { apiKey: null })).rejects.toMatchObject({
			status: 401,
			body: { error: 'unauthorized', message: expect.stringContaining('X-Api-Key') },
		});
		await expect(demoRequest(erp, 'GET', '/customers', undefined, { apiKey: 'not-the-key' })).rejects.toMatchObject({ status: 401 });
	});

	it('CRM: creates a contact with a server-assigned id, updates it, lists changes after a millisecond cursor, and deletes it', async () => {
		const crm = await start('crm');
		const ada = await demoRequest<CrmContact>(crm, 'POST', '/contacts', {
			fullName: 'Ada Lovelace',
			email: 'ada@example.com',
			isActive: 'yes',
			birthday: '10/12/1815',
			status: 'Lead',
		});
		const alan = await demoRequest<CrmContact>(crm, 'POST', '/contacts', { fullName: 'Alan Turing' });

		const updated = await demoRequest<CrmContact>(crm, 'PATCH', `/contacts/${ada.id}`, { status: 'Active', phoneNumber: '+44 20 7946 0001' });
		const changed = await demoRequest<CrmContact[]>(crm, 'GET', `/contacts?updatedSince=${alan.updatedAt}`);
		await demoRequest(crm, 'DELETE', `/contacts/${alan.id}`);

		expect(ada).toMatchObject({ id: expect.any(String), fullName: 'Ada Lovelace', phoneNumber: null, isActive: 'yes', updatedAt: expect.any(Number) });
		expect(updated).toMatchObject({ id: ada.id, email: 'ada@example.com', status: 'Active', phoneNumber: '+44 20 7946 0001' });
		expect(updated.updatedAt).toBeGreaterThan(alan.updatedAt);
		expect(changed).toEqual([updated]);
		expect(await demoRequest<CrmContact[]>(crm, 'GET', '/contacts')).toEqual([updated]);
		await expect(demoRequest(crm, 'DELETE', `/contacts/${alan.id}`)).rejects.toMatchObject({ status: 404 });
	});

	it('ERP: creates customers with integer ids, updates with PUT, lists changes after an ISO cursor, and deletes', async () => {
		const erp = await start('erp');
		const grace = await demoRequest<ErpCustomer>(erp, 'POST', '/customers', {
			full_name: 'Grace Hopper',
			email: 'grace@example.com',
			active: true,
			birth_date: '1906-12-09',
			status: 'A',
		});
		const edsger = await demoRequest<ErpCustomer>(erp, 'POST', '/customers', { full_name: 'Edsger Dijkstra', active: false, status: 'I' });

		const updated = await demoRequest<ErpCustomer>(erp, 'PUT', `/customers/${grace.id}`, { id: grace.id, phone: '+1 202 555 0142' });
		const changed = await demoRequest<ErpCustomer[]>(erp, 'GET', `/customers?updatedSince=${encodeURIComponent(edsger.updated_at)}`);
		await demoRequest(erp, 'DELETE', `/customers/${edsger.id}`);

		expect(grace).toMatchObject({ id: 1, active: true, birth_date: '1906-12-09', status: 'A' });
		expect(edsger.id).toBe(2);
		expect(updated).toMatchObject({ id: 1, full_name: 'Grace Hopper', phone: '+1 202 555 0142' });
		expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(edsger.updated_at));
		expect(new Date(updated.updated_at).toISOString()).toBe(updated.updated_at);
		expect(changed).toEqual([updated]);
		expect(await demoRequest<ErpCustomer[]>(erp, 'GET', '/customers')).toEqual([updated]);
		await expect(demoRequest(erp, 'GET', `/customers/${edsger.id}`)).rejects.toMatchObject({ status: 404 });
	});

	it('gives every write its own updated time, so a cursor never skips a record written in the same millisecond', async () => {
		const crm = await start('crm');
		const contacts: CrmContact[] = [];
		for (let index = 0; index < 20; index++) contacts.push(await demoRequest<CrmContact>(crm, 'POST', '/contacts', { fullName: `Contact ${index}` }));

		const stamps = contacts.map((contact) => contact.updatedAt);
		expect(new Set(stamps).size).toBe(stamps.length);
		expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
		expect(await demoRequest<CrmContact[]>(crm, 'GET', `/contacts?updatedSince=${stamps[9]}`)).toEqual(contacts.slice(10));
	});

	it('rejects invalid values and unknown fields with a message that names each field', async () => {
		const crm = await start('crm');
		const erp = await start('erp');

		await expect(demoRequest(crm, 'POST', '/contacts', { fullName: 'X', isActive: true, birthday: '31/02/1990', _sync: {} })).rejects.toMatchObject({
			status: 400,
			body: {
				error: 'validation_failed',
				details: [
					{ field: 'isActive', message: expect.stringContaining('"yes", "no"') },
					{ field: 'birthday', message: expect.stringContaining('dd/MM/yyyy') },
					{ field: '_sync', message: expect.stringContaining('not a field of a contact') },
				],
			},
		});
		await expect(demoRequest(erp, 'POST', '/customers', { email: 'no-name@example.com', status: 'Active' })).rejects.toMatchObject({
			status: 400,
			body: { details: [{ field: 'status', message: expect.stringContaining('"A", "I", "L"') }, { field: 'full_name', message: 'is required' }] },
		});
		await expect(demoRequest(erp, 'GET', '/customers?updatedSince=yesterday')).rejects.toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });
	});

	it('keeps its records in the data file across a restart', async () => {
		const dataFile = join(dataDir, 'restart-erp.sqlite');
		const first = await start('erp', dataFile);
		const stored = await demoRequest<ErpCustomer>(first, 'POST', '/customers', { full_name: 'Barbara Liskov' });
		await first.stop();

		const second = await start('erp', dataFile);
		const next = await demoRequest<ErpCustomer>(second, 'POST', '/customers', { full_name: 'Margaret Hamilton' });

		expect(await demoRequest<ErpCustomer[]>(second, 'GET', '/customers')).toEqual([stored, next]);
		expect(next.id).toBe(stored.id + 1);
		expect(Date.parse(next.updated_at)).toBeGreaterThan(Date.parse(stored.updated_at));
	});

	it('seeds empty systems once, with one person in both whose email differs only in case', async () => {
		const crm = await start('crm');
		const erp = await start('erp');

		const first = await seedDemo({ crm, erp });
		const second = await seedDemo({ crm, erp });

		expect(first.contacts).toHaveLength(demoSystems.DEMO_SEED.contacts.length);
		expect(first.customers).toHaveLength(demoSystems.DEMO_SEED.customers.length);
		expect(second).toEqual(first);
		const crmEmails = new Set(first.contacts.map((contact) => contact.email?.toLowerCase()));
		expect(first.customers.filter((customer) => crmEmails.has(customer.email?.toLowerCase())).map((customer) => customer.full_name)).toEqual(['Grace Hopper']);
	});

	it('stops each system by its pid', async () => {
		const crm = await start('crm');
		expect(processRuns(crm.pid)).toBe(true);

		await crm.stop();

		expect(processRuns(crm.pid)).toBe(false);
	});
});
