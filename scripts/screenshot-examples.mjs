// Screenshots of the example workflows on the n8n canvas, for the READMEs: docs/<example>.png.
//
// Starts the pinned n8n (e2e/n8n-host) on a fresh user folder with this package installed as a
// community node, imports each example (and placeholder credentials with the names the examples
// use, so no node shows a missing credential), opens /workflow/<id> in headless Chromium, zooms the
// canvas to fit and saves the picture. Re-run it whenever an example changes:
//
//   node_modules/.bin/node scripts/screenshot-examples.mjs [--only two-way-crm-database,first-time-matching]
//
// Plain ESM so it runs without a build; it builds the package itself when the sources changed.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	ROOT,
	ensureN8nInstalled,
	ensurePackageBuilt,
	importCredentials,
	importWorkflow,
	installPackageInto,
	launchChromium,
	login,
	startN8n,
} from './n8n-host.mjs';

export const EXAMPLES = ['two-way-crm-database', 'realtime-crm-to-database', 'first-time-matching'];

// Placeholders: the screenshots need the credentials to exist by name, never to work.
const CREDENTIALS = [
	{
		id: 'CustomersDb00001',
		name: 'Customers database',
		type: 'postgres',
		data: { host: 'db.example.com', port: 5432, database: 'crm', user: 'sync', password: 'placeholder', ssl: 'disable' },
	},
	{
		id: 'ParseRestKeys001',
		name: 'Parse REST API keys',
		type: 'httpCustomAuth',
		data: { json: JSON.stringify({ headers: { 'X-Parse-Application-Id': 'app', 'X-Parse-REST-API-Key': 'placeholder' } }) },
	},
	{
		id: 'ParseWebhookKey1',
		name: 'Parse webhook key',
		type: 'webhookSignatureApi',
		data: { secret: 'placeholder', algorithm: 'plain', headerName: 'X-Parse-Webhook-Key', toleranceSeconds: 300 },
	},
];

const sleep = (ms) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/**
 * A viewport `width` wide whose shape follows the workflow's own (node positions and sticky note
 * sizes), so that zoom to fit fills the picture and the labels stay legible.
 */
function viewportFor(workflow, width) {
	const boxes = workflow.nodes.map((node) => {
		const [x, y] = node.position;
		const sticky = node.type === 'n8n-nodes-base.stickyNote';
		return [x, y, x + (sticky ? (node.parameters.width ?? 240) : 100), y + (sticky ? (node.parameters.height ?? 160) : 100)];
	});
	const canvasWidth = Math.max(...boxes.map((box) => box[2])) - Math.min(...boxes.map((box) => box[0])) + 200;
	const canvasHeight = Math.max(...boxes.map((box) => box[3])) - Math.min(...boxes.map((box) => box[1])) + 200;
	// n8n's header and canvas controls take about 150 px of the height.
	const height = Math.round((width * canvasHeight) / canvasWidth) + 150;
	return { width, height: Math.min(Math.max(height, 900), 1800) };
}

/** Takes one screenshot per example; returns the files written. */
export async function screenshotExamples({ examples = EXAMPLES, width = 2400, log = (line) => console.log(line) } = {}) {
	await ensureN8nInstalled({ log });
	await ensurePackageBuilt({ log });
	const userFolder = await mkdtemp(join(tmpdir(), 'tws-n8n-screenshots-'));
	let n8n;
	let browser;
	const written = [];
	try {
		await installPackageInto(userFolder, { log });
		await importCredentials(userFolder, CREDENTIALS);
		const ids = {};
		const viewports = {};
		for (const example of examples) {
			const workflow = JSON.parse(await readFile(join(ROOT, 'examples', example, 'workflow.json'), 'utf8'));
			ids[example] = await importWorkflow(userFolder, workflow);
			viewports[example] = viewportFor(workflow, width);
		}
		n8n = await startN8n(userFolder);
		log(`n8n ready at ${n8n.url} after ${Math.round(n8n.readyMs / 1000)} s`);
		const cookie = await login(n8n.url);
		browser = await launchChromium({ log, width, height: 1200 });
		const { page } = browser;
		await page.send('Network.enable');
		await page.setCookie(n8n.url, cookie);
		for (const example of examples) {
			await page.send('Emulation.setDeviceMetricsOverride', { ...viewports[example], deviceScaleFactor: 1, mobile: false });
			await page.goto(`${n8n.url}/workflow/${ids[example]}`);
			await page.waitFor(`document.querySelectorAll('[data-test-id="canvas-node"]').length > 1`, { what: `the canvas of ${example}` });
			// Let the icons load, then zoom to fit (the canvas's own button) and let the animation end.
			await sleep(1500);
			await page.evaluate(`document.querySelector('[data-test-id="zoom-to-fit"]')?.click()`);
			await sleep(1500);
			// Move the pointer away and close any toast, so nothing covers the nodes.
			await page.evaluate(`document.querySelectorAll('.el-notification__closeBtn').forEach((button) => button.click())`);
			await sleep(300);
			// Only the workflow: the union of its nodes and notes with their labels and handles, plus a margin.
			const box = await page.evaluate(`(() => {
				const rects = [...document.querySelectorAll('.vue-flow__node, .vue-flow__node *')].map((element) => element.getBoundingClientRect()).filter((rect) => rect.width > 0);
				const left = Math.min(...rects.map((rect) => rect.left)), top = Math.min(...rects.map((rect) => rect.top));
				const right = Math.max(...rects.map((rect) => rect.right)), bottom = Math.max(...rects.map((rect) => rect.bottom));
				return { x: Math.max(0, left - 40), y: Math.max(0, top - 40), width: Math.min(innerWidth, right + 40) - Math.max(0, left - 40), height: Math.min(innerHeight, bottom + 40) - Math.max(0, top - 40) };
			})()`);
			const { data } = await page.send('Page.captureScreenshot', { format: 'png', clip: { ...box, scale: 1 } });
			const file = join(ROOT, 'docs', `${example}.png`);
			await writeFile(file, Buffer.from(data, 'base64'));
			written.push(file);
			log(`wrote ${file} (${Math.round(box.width)} x ${Math.round(box.height)})`);
		}
		return written;
	} finally {
		await browser?.close();
		await n8n?.stop();
		await rm(userFolder, { recursive: true, force: true });
	}
}

if (process.argv[1]?.endsWith('screenshot-examples.mjs')) {
	const only = process.argv.indexOf('--only');
	await screenshotExamples(only === -1 ? {} : { examples: process.argv[only + 1].split(',') });
}
