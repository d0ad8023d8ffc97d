// The web terminal and the manager dashboard in headless chromium (run by tests/browser/run.sh).
//
// Two terminal pages of one store (each its own browser context: its own device pairing and storage).
// Page A sells: a grid click and the same product's barcode typed as fast keystrokes + Enter (a keyboard
// wedge), a split tender (card + cash with change); the first answer to the checkout is lost on the way
// back (the server recorded the sale), so the page must retry with the same sale id. Page B, never
// reloaded, must show the product's stock go down by exactly the units sold. Then, once the projector
// wrote the sale to PostgreSQL, a manager's dashboard shows it in the hourly chart and the top products,
// and lists the low product to reorder; a cashier logged in on the dashboard gets the server's 403.
// The store is in Pacific/Kiritimati (UTC+14) and the dashboard's browser in Pacific/Pago_Pago (UTC-11),
// so their dates always differ: the dashboard's "today" must be the store's local day, with the sale
// the fixture made just after the store's midnight and without the one just before it.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const fx = JSON.parse(fs.readFileSync(process.env.FIXTURE, 'utf8'));
const base = process.env.BASE_URL;
const started = Date.now();
const problems = [];

function check(cond, what) {
	if (!cond) throw new Error('FAILED: ' + what);
	console.log('ok - ' + what);
}

async function text(page, sel) {
	return (await page.locator(sel).first().textContent()) ?? '';
}

// Waits (with the page's default timeout) until the element's text contains `want`.
async function waitText(page, sel, want, what) {
	try {
		await page.waitForFunction(([s, w]) => {
			const n = document.querySelector(s);
			return !!n && n.textContent.includes(w);
		}, [sel, want]);
	} catch (e) {
		throw new Error(`FAILED: ${what}: ${sel} shows "${await text(page, sel).catch(() => '?')}", expected "${want}"`);
	}
	console.log('ok - ' + what);
}

function watch(page, name) {
	page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
	page.on('console', (m) => {
		// a 403/401 the page asked for and handled, and the 503 and connection reset this test causes, are expected;
		// CSP violations, missing files and script errors are not
		if (m.type() === 'error' && !/status of (40[13]|503)|ERR_CONNECTION_RESET/.test(m.text()))
			problems.push(`${name}: console: ${m.text()} (${m.location().url})`);
	});
}

async function pairAndLogin(page, path, code, employee, pin) {
	await page.goto(base + path);
	await page.fill('#pair input[name=code]', code);
	await page.click('#pair button[type=submit]');
	await page.waitForSelector('#login:not([hidden])');
	await page.fill('#login input[name=employee]', employee);
	await page.fill('#login input[name=pin]', pin);
	await page.click('#login button[type=submit]');
}

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM,
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
	const ctx = () => browser.newContext({ timezoneId: 'UTC', locale: 'en-GB' });
	const a = await (await ctx()).newPage();
	const b = await (await ctx()).newPage();
	for (const [p, n] of [[a, 'terminal A'], [b, 'terminal B']]) {
		p.setDefaultTimeout(20000);
		watch(p, n);
	}

	// static pages: content types and security headers, traversal refused
	const index = await a.request.get(base + '/terminal/');
	check(index.status() === 200 && index.headers()['content-type'].startsWith('text/html'), '/terminal/ is HTML');
	check(/default-src 'self'/.test(index.headers()['content-security-policy'] || ''), 'pages carry a same-origin CSP');
	const js = await a.request.get(base + '/terminal/terminal.js');
	check(js.headers()['content-type'].startsWith('text/javascript'), 'scripts are served as text/javascript');
	const trav = await a.request.get(base + '/terminal/%2e%2e/%2e%2e/etc/passwd');
	check(trav.status() === 404, 'path traversal is refused');

	// the server refuses terminal B's first stream (503, which ends an EventSource for good): the page
	// must load a new snapshot and open a new stream by itself
	let refused = 0;
	await b.route('**/v1/stores/*/events*', async (route) => {
		if (refused++ === 0)
			await route.fulfill({ status: 503, contentType: 'application/json',
			                      body: '{"error":{"code":"unavailable","message":"refused by the test"}}' });
		else
			await route.continue();
	});
	await pairAndLogin(a, '/terminal/', fx.codes[0], fx.cashier, fx.cashier_pin);
	await pairAndLogin(b, '/terminal/', fx.codes[1], fx.cashier, fx.cashier_pin);
	const stockB = '.stock[data-stock-sku="CRS-001"]';
	await waitText(b, stockB, 'stock 40', 'terminal B shows the opening stock');
	await waitText(a, stockB, 'stock 40', 'terminal A shows the opening stock');
	await b.waitForSelector('#live.on');
	check(refused >= 2, `terminal B opened a new stream after the server refused one (${refused} requests)`);
	await a.waitForSelector('#live.on');
	await b.evaluate(() => { window.__notReloaded = true; });


	// search finds by name
	await a.fill('#search', 'jam');
	await a.waitForSelector('.tile[data-sku="JAM-001"]');
	check((await a.locator('.tile').count()) === 1, 'search shows only the matching product');
	await a.fill('#search', '');
	await a.waitForSelector('.tile[data-sku="CRS-001"]');

	// one croissant from the grid, one by the scanner (fast keystrokes ending in Enter, no field focused)
	await a.click('.tile[data-sku="CRS-001"]');
	await a.evaluate(() => document.activeElement && document.activeElement.blur());
	await a.keyboard.type('3760000000017', { delay: 5 });
	await a.keyboard.press('Enter');
	await waitText(a, 'tr[data-cart-sku="CRS-001"] .qty', '2', 'grid click + scanned barcode: 2 croissants in the cart');
	await waitText(a, '#total', '2.40', 'the server priced the cart');

	// split tender: 1.00 by card, 5.00 cash -> 3.60 change
	await a.fill('#tender-amount', '1.00');
	await a.click('#add-card');
	await a.fill('#tender-amount', '5');
	await a.click('#add-cash');
	await waitText(a, '#change', '3.60', 'cash over the remaining amount gives change');

	// the first checkout reaches the server but its answer is lost: the page must retry with the same id
	const keys = [];
	await a.route('**/v1/stores/*/sales', async (route) => {
		keys.push(route.request().headers()['idempotency-key']);
		if (keys.length === 1) {
			await route.fetch(); // the server commits the sale...
			await route.abort('connectionreset'); // ...and the page never hears it
		} else {
			await route.continue();
		}
	});
	await a.click('#checkout');
	await a.waitForSelector('#receipt-view:not([hidden])');
	check(keys.length >= 2 && keys.every((k) => k === keys[0]) && /^[0-9a-f-]{36}$/.test(keys[0]),
	      `checkout retried with the same Idempotency-Key (${keys.length} attempts)`);
	const receipt = await text(a, '#receipt');
	check(receipt.includes('2 x Croissant') && /Change\s+3\.60/.test(receipt), 'the receipt shows the lines and the change');

	// terminal B: stock 40 -> 38 (sold once, not twice), live, without reload
	await waitText(b, stockB, 'stock 38', 'terminal B sees the stock change live');
	check(await b.evaluate(() => window.__notReloaded === true), 'terminal B was not reloaded');
	const level = await b.evaluate(async (store) => {
		const t = sessionStorage.getItem('redstore.session');
		const r = await fetch(`/v1/stores/${store}/stock/CRS-001`, { headers: { Authorization: 'Bearer ' + t } });
		return r.json();
	}, fx.store);
	check(level.available === 38, `the retried sale was recorded once (server: ${level.available} available)`);

	// the projector writes the sale to PostgreSQL; then the dashboard shows it
	execFileSync(process.env.FIXTURE_BIN, ['wait-projected', fx.store, process.env.PROJECTOR_GROUP],
	             { stdio: 'inherit' });
	const mctx = await browser.newContext({ timezoneId: 'Pacific/Pago_Pago', locale: 'en-GB' });
	const m = await mctx.newPage();
	m.setDefaultTimeout(20000);
	watch(m, 'dashboard');
	await pairAndLogin(m, '/dashboard/?refresh=2', fx.codes[2], fx.manager, fx.manager_pin);
	// the store's date now, and the browser's (25 hours behind: never the same date)
	const dateIn = (tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit',
	                                                          day: '2-digit' }).format(new Date());
	const storeDay = dateIn(fx.timezone);
	check(fx.timezone === 'Pacific/Kiritimati' && storeDay !== dateIn('Pacific/Pago_Pago'),
	      `the store's date (${storeDay}) is not the browser's (${dateIn('Pacific/Pago_Pago')})`);
	await m.waitForSelector('#day-total[data-total="350"]').catch(async () => {
		throw new Error(`FAILED: the day's total: ${await m.locator('#day-total').getAttribute('data-total')}` +
		                ` (${await text(m, '#message')}), expected 350`);
	});
	console.log("ok - the day's total is the 2 croissants and the baguette sold after the store's midnight (3.50)");
	check((await m.locator('#day').getAttribute('data-day')) === storeDay && fx.day === storeDay,
	      `the dashboard's day is the store's local date (${storeDay})`);
	const storeHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: fx.timezone, hour: '2-digit',
	                                                            hourCycle: 'h23' }).format(new Date()));
	const bars = m.locator('#chart svg rect.bar');
	const hours = await bars.evaluateAll((rs) => rs.map((r) => [Number(r.dataset.hour), Number(r.dataset.total),
	                                                            r.dataset.bucket]));
	check(hours.every(([, , bucket]) => bucket.startsWith(storeDay + ' ')), "every bar is of the store's day");
	const early = hours.find(([h]) => h === 0), now = hours.find(([h]) => h > 0 && Math.abs(h - storeHour) <= 1);
	if (storeHour === 0)
		check(hours.length === 1 && early[1] === 350, "one bar at the store's hour 0: the baguette and the croissants");
	else
		check(hours.length === 2 && early && early[1] === 110 && now && now[1] === 240,
		      `two bars: the baguette at the store's hour 0 (1.10), the croissants at its hour ${storeHour} (2.40)`);
	await m.waitForSelector('#top tr[data-sku="CRS-001"][data-units="2"]');
	console.log('ok - top products list the croissant with 2 units');
	await m.waitForSelector('#top tr[data-sku="BAG-001"][data-units="1"]');
	check((await m.locator('#top tr[data-sku="ESP-001"]').count()) === 0,
	      "top products have the baguette of the store's day, not the espresso sold before its midnight");
	await m.waitForSelector('#reorder tr[data-sku="JAM-001"]');
	check((await m.locator('#reorder tr').count()) === 1, 'stock to reorder lists the low product only');

	// a cashier on the dashboard: the server refuses the reports
	await m.click('#logout');
	await m.fill('#login input[name=employee]', fx.cashier);
	await m.fill('#login input[name=pin]', fx.cashier_pin);
	await m.click('#login button[type=submit]');
	await waitText(m, '#message', 'Reports are for managers', 'a cashier cannot open the dashboard');
	check(await m.locator('#dash').isHidden(), 'no report is shown to the cashier');
	const status = await m.evaluate(async (store) => {
		const t = sessionStorage.getItem('redstore.session');
		const r = await fetch(`/v1/stores/${store}/reports/top-products?from=0&to=${Date.now()}`,
		                      { headers: { Authorization: 'Bearer ' + t } });
		return r.status;
	}, fx.store);
	check(status === 403, 'the server answers 403 to a cashier asking for a report');

	check(problems.length === 0, 'no script error or CSP violation on any page' +
	      (problems.length ? ':\n  ' + problems.join('\n  ') : ''));
	console.log(`browser_web: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
	await browser.close();
}
