// The web terminal: pairing and PIN login, a product grid with favourites and search, keyboard-wedge
// barcode input, a cart priced by the server (quote), cash/card/split tenders, checkout exactly once per
// sale id (Idempotency-Key, retried with the same id when the network fails), the receipt, and live stock
// from the store's Server-Sent Events stream.
import {
	ApiError, api, el, liveStream, logout, money, parseMoney, session, setupAuth, storePath, uuid,
} from '../common/redstore.js';

const $ = (id) => document.getElementById(id);

const state = {
	s: null,              // the session
	products: new Map(),  // sku -> product (everything the page has seen)
	stock: new Map(),     // sku -> { on_hand, reserved }
	streamId: '',         // the stream id the stock map is current to
	live: null,
	tab: 'fav',
	query: '',
	shown: [],            // the SKUs of the grid, in order
	cart: [],             // { sku, qty }
	tenders: [],          // { kind, amount }
	quote: null,          // the server's pricing of the cart
	quoteSeq: 0,
	saleId: null,         // the pending sale's id: reused for every retry of this checkout
	busy: false,
	currency: '',
};

function message(text) {
	$('message').textContent = text || '';
}

// ------------------------------------------------------------ stock

function available(sku) {
	const l = state.stock.get(sku);
	return l ? l.on_hand - l.reserved : 0;
}

function renderStock(sku) {
	const p = state.products.get(sku);
	for (const node of document.querySelectorAll('.stock[data-stock-sku]')) {
		if (node.dataset.stockSku !== sku) continue;
		const n = available(sku);
		node.textContent = 'stock ' + n;
		node.dataset.available = String(n);
		node.classList.toggle('low', !!p && p.low_stock_threshold > 0 && n <= p.low_stock_threshold);
	}
}

async function loadSnapshot() {
	const snap = await api('GET', storePath(state.s, '/snapshot'));
	state.stock.clear();
	for (const l of snap.stock) state.stock.set(l.sku, { on_hand: l.on_hand, reserved: l.reserved });
	state.streamId = snap.stream_id;
	for (const sku of state.shown) renderStock(sku);
}

function setLive(st) {
	const n = $('live');
	n.hidden = false;
	n.textContent = st === 'live' ? 'live' : st === 'reconnecting' ? 'reconnecting' : 'offline';
	n.className = 'live ' + (st === 'live' ? 'on' : 'off');
}

// The snapshot first, then the stream from the snapshot's id: no change is missed or applied twice.
async function startLive() {
	if (state.live) state.live.close();
	await loadSnapshot();
	state.live = liveStream(state.s, state.streamId, {
		onChange(c) {
			for (const [sku, onHand, reserved] of c.changes || []) {
				state.stock.set(sku, { on_hand: onHand, reserved });
				renderStock(sku);
			}
		},
		onResync() {
			startLive().catch(fatal);
		},
		// refused: a new snapshot tells whether the session still holds (401 logs out), then a new stream
		onClosed: reopen,
		onState: setLive,
	});
}

// Opens the stream again after the server refused it; retried every 3 s while the server cannot answer.
function reopen() {
	startLive().then(() => message('')).catch((e) => {
		if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
			fatal(e);
			return;
		}
		setLive('reconnecting');
		message('Live stock paused: ' + e.message);
		setTimeout(() => {
			if (session() && !$('pos').hidden) reopen();
		}, 3000);
	});
}

// ------------------------------------------------------------ the grid

function tile(p) {
	return el('button', { type: 'button', class: 'tile' + (p.favourite ? ' fav' : ''), dataset: { sku: p.sku },
	                      onclick: () => addToCart(p.sku, 1) },
	          el('span', { class: 'name', text: p.name }),
	          el('span', { class: 'price', text: money(p.price, p.currency) }),
	          el('span', { class: 'stock', dataset: { stockSku: p.sku } }));
}

async function loadGrid() {
	const q = state.query;
	let path;
	if (q) path = '/products?limit=60&q=' + encodeURIComponent(q);
	else path = '/products?limit=200' + (state.tab === 'fav' ? '&favourites=1' : '');
	const r = await api('GET', storePath(state.s, path));
	if (q !== state.query) return; // a newer search is on its way
	if (!q && state.tab === 'fav' && r.products.length === 0 && !state.triedAll) {
		state.triedAll = true; // no favourites yet: show everything
		selectTab('all');
		return;
	}
	const grid = $('grid');
	grid.replaceChildren();
	state.shown = [];
	for (const p of r.products) {
		state.products.set(p.sku, p);
		state.currency = state.currency || p.currency;
		grid.append(tile(p));
		state.shown.push(p.sku);
		renderStock(p.sku);
	}
	$('grid-more').hidden = !r.next_cursor;
	$('grid-more').textContent = r.next_cursor ? 'More products match: refine the search.' : '';
}

function selectTab(tab) {
	state.tab = tab;
	$('tab-fav').setAttribute('aria-pressed', String(tab === 'fav'));
	$('tab-all').setAttribute('aria-pressed', String(tab === 'all'));
	loadGrid().catch(report);
}

let searchTimer = null;
function onSearch() {
	clearTimeout(searchTimer);
	searchTimer = setTimeout(() => {
		state.query = $('search').value.trim();
		loadGrid().catch(report);
	}, 200);
}

// ------------------------------------------------------------ barcodes

async function lookup(code) {
	const c = code.trim();
	if (!c) return;
	let p;
	try {
		p = await api('GET', storePath(state.s, '/barcodes/' + encodeURIComponent(c)));
	} catch (e) {
		if (e.status !== 404) throw e;
		try {
			p = await api('GET', storePath(state.s, '/products/' + encodeURIComponent(c)));
		} catch (e2) {
			if (e2.status === 404) {
				message('No product with barcode or SKU ' + c);
				return;
			}
			throw e2;
		}
	}
	state.products.set(p.sku, p);
	state.currency = state.currency || p.currency;
	message('');
	addToCart(p.sku, 1);
}

// A keyboard-wedge scanner types the barcode as fast keystrokes and presses Enter. Keys that follow each
// other within WEDGE_GAP_MS build a code; Enter after at least WEDGE_MIN of them is a scan, wherever the
// focus is (what the burst typed into a text field is taken back out). People type slower than that.
const WEDGE_GAP_MS = 80;
const WEDGE_MIN = 4;
const wedge = { buf: '', last: 0, target: null, before: null };

function onKey(e) {
	if ($('pos').hidden || e.ctrlKey || e.metaKey || e.altKey) return;
	const now = e.timeStamp; // when the key was pressed, not when this handler got to run
	if (e.key === 'Enter') {
		const code = wedge.buf;
		const fast = code.length >= WEDGE_MIN && now - wedge.last <= WEDGE_GAP_MS * 4;
		wedge.buf = '';
		if (!fast) return;
		e.preventDefault();
		const t = wedge.target;
		if (t && 'value' in t && wedge.before !== null && t.id !== 'scan') t.value = wedge.before;
		if (t && t.id === 'scan') t.value = '';
		lookup(code).catch(report);
		return;
	}
	if (e.key.length !== 1) {
		if (e.key !== 'Shift') wedge.buf = '';
		return;
	}
	if (!wedge.buf || now - wedge.last > WEDGE_GAP_MS) {
		wedge.buf = '';
		wedge.target = e.target;
		wedge.before = e.target && 'value' in e.target ? e.target.value : null;
	}
	wedge.buf += e.key;
	wedge.last = now;
}

// ------------------------------------------------------------ the cart and the quote

function locked() {
	return state.busy || state.saleId !== null;
}

function addToCart(sku, qty) {
	if (locked()) {
		message('A checkout is in progress');
		return;
	}
	if (!$('receipt-view').hidden) newSale();
	const line = state.cart.find((l) => l.sku === sku);
	if (line) line.qty += qty;
	else state.cart.push({ sku, qty });
	state.cart = state.cart.filter((l) => l.qty > 0);
	cartChanged();
}

function cartChanged() {
	state.tenders = [];
	renderCart();
	requote();
}

async function requote() {
	const seq = ++state.quoteSeq;
	if (!state.cart.length) {
		state.quote = null;
		renderTotals();
		return;
	}
	try {
		const q = await api('POST', storePath(state.s, '/sales/quote'), { body: { lines: state.cart } });
		if (seq !== state.quoteSeq) return;
		state.quote = q;
		message('');
	} catch (e) {
		if (seq !== state.quoteSeq) return;
		state.quote = null;
		report(e);
	}
	renderCart();
	renderTotals();
}

function renderCart() {
	const body = $('cart');
	body.replaceChildren();
	const priced = new Map((state.quote?.lines || []).map((l) => [l.sku, l]));
	for (const line of state.cart) {
		const p = state.products.get(line.sku);
		const q = priced.get(line.sku);
		body.append(el('tr', { dataset: { cartSku: line.sku } },
		               el('td', { text: p ? p.name : line.sku }),
		               el('td', { class: 'num' },
		                  el('button', { type: 'button', class: 'quiet', text: '−', 'aria-label': 'one less',
		                                 onclick: () => addToCart(line.sku, -1) }),
		                  el('span', { class: 'qty', text: ' ' + line.qty + ' ' }),
		                  el('button', { type: 'button', class: 'quiet', text: '+', 'aria-label': 'one more',
		                                 onclick: () => addToCart(line.sku, 1) })),
		               el('td', { class: 'num', text: q ? money(q.total) : '…' }),
		               el('td', {}, el('button', { type: 'button', class: 'quiet', text: '×', 'aria-label': 'remove',
		                                           onclick: () => addToCart(line.sku, -line.qty) }))));
	}
	$('cart-empty').hidden = state.cart.length > 0;
}

function due() {
	return state.quote ? state.quote.total : 0;
}

function paid() {
	return state.tenders.reduce((a, t) => a + t.amount, 0);
}

function renderTotals() {
	const total = due(), p = paid();
	const cash = state.tenders.some((t) => t.kind === 'cash');
	$('tax').textContent = money(state.quote ? state.quote.tax : 0);
	$('total').textContent = money(total, state.quote?.currency);
	$('paid').textContent = money(p);
	$('remaining').textContent = money(Math.max(0, total - p));
	$('change').textContent = money(cash ? Math.max(0, p - total) : 0);
	const list = $('tenders');
	list.replaceChildren(...state.tenders.map((t) => el('li', { text: t.kind + ' ' + money(t.amount) })));
	$('checkout').disabled = !state.quote || !state.cart.length || p < total || state.busy;
}

function addTender(kind, amount) {
	if (locked()) return;
	const total = due(), rest = total - paid();
	if (!state.quote) return;
	if (!Number.isFinite(amount) || amount <= 0) {
		message('Enter an amount');
		return;
	}
	if (kind === 'card' && amount > rest) {
		message('A card pays at most what remains (' + money(rest) + '); change comes from cash only');
		return;
	}
	message('');
	state.tenders.push({ kind, amount });
	$('tender-amount').value = '';
	renderTotals();
}

// ------------------------------------------------------------ checkout

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One sale id per checkout: it is generated here once and sent as the Idempotency-Key of every attempt,
// so a retry after a lost answer cannot sell twice (the server answers the first result again).
async function checkout() {
	if (state.busy || !state.quote) return;
	state.busy = true;
	if (!state.saleId) state.saleId = uuid();
	const body = { sale_id: state.saleId, lines: state.cart, tenders: state.tenders };
	renderTotals();
	let delay = 500;
	try {
		for (let attempt = 1; ; attempt++) {
			$('checkout-state').textContent = attempt === 1 ? 'Sending…' : `Retrying (attempt ${attempt})…`;
			try {
				const receipt = await api('POST', storePath(state.s, '/sales'),
				                          { body, headers: { 'Idempotency-Key': state.saleId } });
				showReceipt(receipt);
				return;
			} catch (e) {
				if (!(e instanceof ApiError) || !e.retriable) {
					// a definite answer: the sale was not recorded; a new attempt gets a new id
					state.saleId = null;
					$('checkout-state').textContent = '';
					report(e);
					return;
				}
				// no answer: the sale may or may not be recorded; keep its id and try again
				$('checkout-state').textContent = 'The server cannot be reached; retrying with the same sale id';
				await sleep(delay);
				delay = Math.min(delay * 2, 8000);
			}
		}
	} finally {
		state.busy = false;
		renderTotals();
	}
}

function showReceipt(r) {
	const lines = [];
	lines.push(r.store_name, 'Sale ' + r.id, new Date(r.occurred_at_ms).toLocaleString(), '');
	for (const l of r.lines) lines.push(`${l.qty} x ${l.name}`.padEnd(28) + money(l.total).padStart(10));
	lines.push('', 'Total'.padEnd(28) + money(r.total, r.currency).padStart(10));
	lines.push((r.prices_include_tax ? 'incl. tax' : 'tax').padEnd(28) + money(r.tax).padStart(10));
	for (const t of r.tenders) lines.push(t.kind.padEnd(28) + money(t.amount).padStart(10));
	if (r.change_due) lines.push('Change'.padEnd(28) + money(r.change_due).padStart(10));
	$('receipt').textContent = lines.join('\n');
	$('receipt').dataset.saleId = r.id;
	$('sale-view').hidden = true;
	$('receipt-view').hidden = false;
	$('checkout-state').textContent = '';
	state.saleId = null;
	state.cart = [];
	state.tenders = [];
	state.quote = null;
	renderCart();
	renderTotals();
}

function newSale() {
	$('receipt-view').hidden = true;
	$('sale-view').hidden = false;
	message('');
}

// ------------------------------------------------------------ start

function report(e) {
	if (e instanceof ApiError && e.status === 401) {
		fatal(e);
		return;
	}
	message(e.message || String(e));
}

function fatal(e) {
	if (e instanceof ApiError && e.status === 401) {
		logout();
		showAuth();
		message('Your session ended: log in again');
		return;
	}
	message(e.message || String(e));
}

function showAuth() {
	if (state.live) state.live.close();
	state.live = null;
	$('pos').hidden = true;
	$('auth').hidden = false;
	$('logout').hidden = true;
	$('live').hidden = true;
	$('who').textContent = '';
}

async function start(s) {
	state.s = s;
	$('auth').hidden = true;
	$('pos').hidden = false;
	$('logout').hidden = false;
	$('who').textContent = `${s.employee} · ${s.role} · store ${s.store}`;
	message('');
	try {
		await startLive();
		await loadGrid();
	} catch (e) {
		fatal(e);
	}
}

document.addEventListener('DOMContentLoaded', () => {
	setupAuth({ pairForm: $('pair'), loginForm: $('login'), message: $('message'), onReady: start });
	$('logout').addEventListener('click', () => {
		logout();
		showAuth();
	});
	$('search').addEventListener('input', onSearch);
	$('tab-fav').addEventListener('click', () => selectTab('fav'));
	$('tab-all').addEventListener('click', () => selectTab('all'));
	$('scan').addEventListener('keydown', (e) => {
		if (e.key === 'Enter' && $('scan').value.trim()) {
			e.preventDefault();
			const v = $('scan').value;
			$('scan').value = '';
			lookup(v).catch(report);
		}
	});
	document.addEventListener('keydown', onKey, true);
	$('add-cash').addEventListener('click', () => addTender('cash', parseMoney($('tender-amount').value)));
	$('add-card').addEventListener('click', () => addTender('card', parseMoney($('tender-amount').value)));
	$('exact-cash').addEventListener('click', () => addTender('cash', due() - paid()));
	$('rest-card').addEventListener('click', () => addTender('card', due() - paid()));
	$('clear-tenders').addEventListener('click', () => {
		if (locked()) return;
		state.tenders = [];
		renderTotals();
	});
	$('checkout').addEventListener('click', () => checkout().catch(report));
	$('new-sale').addEventListener('click', newSale);
	const s = session();
	if (s) start(s);
	else showAuth();
});
