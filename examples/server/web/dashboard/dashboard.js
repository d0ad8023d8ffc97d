// The manager dashboard: today's sales by hour (an SVG chart drawn here), the top products of the day
// and the stock to reorder, from the server's report endpoints (manager role). "Today" is the store's
// local day (its time zone, resolved by the server), whatever the browser's zone. It refreshes when the
// store's live stream reports a change (debounced: sales reach the reports once the projector wrote
// them) and on a timer (?refresh=SECONDS, default 30).
import { ApiError, api, el, liveStream, logout, money, session, setupAuth, storePath } from '../common/redstore.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const state = { s: null, live: null, timer: null, debounce: null, loading: false, again: false };

function message(text) {
	$('message').textContent = text || '';
}

function svg(tag, attrs = {}, text) {
	const e = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
	if (text !== undefined) e.textContent = text;
	return e;
}

// The smallest 1, 2 or 5 x 10^k at or above v (the chart's top line).
function niceCeil(v) {
	const p = Math.pow(10, Math.floor(Math.log10(v)));
	for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
	return 10 * p;
}

// rows: the report's hourly buckets ("YYYY-MM-DD HH:MM" in the store's time zone). Draws 24 bars.
function drawChart(rows) {
	const W = 720, H = 220, L = 48, B = 24, T = 16;
	const byHour = new Array(24).fill(null);
	for (const r of rows) {
		const h = Number(r.bucket.slice(11, 13));
		if (h >= 0 && h < 24) byHour[h] = r;
	}
	const max = niceCeil(Math.max(100, ...byHour.map((r) => (r ? r.total : 0))));
	const bw = (W - L) / 24;
	const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
	                           'aria-label': "today's sales by hour" });
	chart.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }));
	for (const f of [0.5, 1]) {
		const y = H - B - (H - B - T) * f;
		chart.append(svg('line', { class: 'axis', x1: L, y1: y, x2: W, y2: y }));
		chart.append(svg('text', { x: L - 4, y: y + 3, 'text-anchor': 'end' }, money(max * f)));
	}
	for (let h = 0; h < 24; h++) {
		const r = byHour[h];
		const x = L + h * bw;
		if (h % 2 === 0) chart.append(svg('text', { x: x + bw / 2, y: H - 8, 'text-anchor': 'middle' }, String(h)));
		if (!r || !r.total) continue;
		const bh = Math.max(1, ((H - B - T) * r.total) / max);
		const bar = svg('rect', { class: 'bar', x: x + 2, y: H - B - bh, width: bw - 4, height: bh,
		                          'data-hour': h, 'data-bucket': r.bucket, 'data-total': r.total,
		                          'data-units': r.units });
		bar.append(svg('title', {}, `${r.bucket}: ${money(r.total)} · ${r.units} units · ${r.lines} lines`));
		chart.append(bar);
		chart.append(svg('text', { class: 'value', x: x + bw / 2, y: H - B - bh - 3, 'text-anchor': 'middle' },
		                 String(r.units)));
	}
	$('chart').replaceChildren(chart);
	const sum = rows.reduce((a, r) => a + r.total, 0), units = rows.reduce((a, r) => a + r.units, 0);
	$('day-total').textContent = `${money(sum)} · ${units} units`;
	$('day-total').dataset.total = String(sum);
}

function drawTop(rows) {
	$('top').replaceChildren(...rows.map((r, i) => el('tr', { dataset: { sku: r.key, units: r.units } },
		el('td', { text: String(i + 1) }), el('td', { text: r.key }),
		el('td', { class: 'num', text: String(r.units) }), el('td', { class: 'num', text: money(r.total) }))));
	$('top-empty').hidden = rows.length > 0;
}

function drawReorder(rows) {
	$('reorder').replaceChildren(...rows.map((r) => el('tr', { dataset: { sku: r.sku } },
		el('td', { text: r.sku }), el('td', { text: r.name }),
		el('td', { class: 'num', text: String(r.available) }), el('td', { class: 'num', text: String(r.threshold) }),
		el('td', { class: 'num', text: String(r.suggested) }))));
	$('reorder-empty').hidden = rows.length > 0;
}

async function refresh() {
	if (state.loading) {
		state.again = true;
		return;
	}
	state.loading = true;
	try {
		// "Today" is the store's local day, in the store's time zone (the server resolves day=today), not
		// the browser's: a manager abroad, or a store far from UTC, sees the store's day. The top products
		// then ask for the same range, so both answer for one day even around midnight.
		const sales = await api('GET', storePath(state.s, '/reports/sales?bucket=hour&day=today'));
		const [top, reorder] = await Promise.all([
			api('GET', storePath(state.s, `/reports/top-products?by=units&n=10&from=${sales.from}&to=${sales.to}`)),
			api('GET', storePath(state.s, '/reports/reorder?window_days=14&limit=50')),
		]);
		$('day').textContent = sales.day;
		$('day').dataset.day = sales.day;
		drawChart(sales.rows);
		drawTop(top.rows);
		drawReorder(reorder.rows);
		$('dash').hidden = false;
		$('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
		message('');
	} catch (e) {
		fail(e);
	} finally {
		state.loading = false;
		if (state.again) {
			state.again = false;
			refresh();
		}
	}
}

function fail(e) {
	if (e instanceof ApiError && e.status === 403) {
		stop();
		$('dash').hidden = true;
		message('Reports are for managers: ' + e.message);
		$('logout').hidden = false;
		return;
	}
	if (e instanceof ApiError && e.status === 401) {
		logout();
		showAuth();
		message('Your session ended: log in again');
		return;
	}
	message(e.message || String(e));
}

function stop() {
	if (state.live) state.live.close();
	state.live = null;
	clearInterval(state.timer);
	clearTimeout(state.debounce);
	$('live').hidden = true;
	$('refresh').hidden = true;
}

function showAuth() {
	stop();
	$('dash').hidden = true;
	$('auth').hidden = false;
	$('logout').hidden = true;
	$('who').textContent = '';
}

function start(s) {
	state.s = s;
	$('auth').hidden = true;
	$('who').textContent = `${s.employee} · ${s.role} · store ${s.store}`;
	$('logout').hidden = false;
	if (s.role !== 'manager' && s.role !== 'admin') {
		// the server decides: it answers 403 to other roles, and fail() says so
		refresh();
		return;
	}
	$('refresh').hidden = false;
	const seconds = Number(new URLSearchParams(location.search).get('refresh')) || 30;
	state.timer = setInterval(refresh, Math.max(2, seconds) * 1000);
	state.live = liveStream(s, '', {
		onChange() {
			clearTimeout(state.debounce);
			state.debounce = setTimeout(refresh, 1500);
		},
		onResync() {
			stop();
			start(s);
		},
		// refused: a refresh tells whether the session still holds (401 logs out), then a new stream
		async onClosed() {
			await refresh();
			if (session()) {
				stop();
				start(s);
			}
		},
		onState(st) {
			const n = $('live');
			n.hidden = false;
			n.textContent = st === 'live' ? 'live' : 'reconnecting';
			n.className = 'live ' + (st === 'live' ? 'on' : 'off');
		},
	});
	refresh();
}

document.addEventListener('DOMContentLoaded', () => {
	setupAuth({ pairForm: $('pair'), loginForm: $('login'), message: $('message'), onReady: start });
	$('logout').addEventListener('click', () => {
		logout();
		showAuth();
		message('');
	});
	$('refresh').addEventListener('click', refresh);
	const s = session();
	if (s) start(s);
	else showAuth();
});
