// What the terminal and the dashboard share: the REST client, the device and session storage, the live
// stream, money. Plain ES module, no build step, no dependency.
//
// Authentication (docs/web.md): a page pairs once with a pairing code and keeps the device token in
// localStorage; an employee logs in with a PIN and the session token (short-lived, signed) stays in
// sessionStorage (gone when the tab closes). REST calls send it as "Authorization: Bearer"; EventSource
// cannot send headers, so the live stream passes it as ?access_token= and the server authenticates that
// exactly like the header (same signature, expiry, revocation and store checks).

const DEVICE_KEY = 'redstore.device';
const SESSION_KEY = 'redstore.session';

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status; // 0: no answer (network)
		this.code = code;
	}
	get retriable() {
		return this.status === 0 || this.status === 503 || this.status === 502 || this.status === 504;
	}
}

export function device() {
	try {
		return JSON.parse(localStorage.getItem(DEVICE_KEY) || 'null');
	} catch (e) {
		return null;
	}
}

export function forgetDevice() {
	localStorage.removeItem(DEVICE_KEY);
}

// The session token's fields: "v1|store|employee|terminal|role|expiry|nonce.<hmac>" (the server checks the
// signature; the page only reads who and which store).
export function parseToken(token) {
	const f = String(token || '').split('.')[0].split('|');
	if (f.length < 7 || f[0] !== 'v1') return null;
	return { token, store: f[1], employee: f[2], terminal: f[3], role: f[4], expires_s: Number(f[5]) };
}

export function session() {
	const s = parseToken(sessionStorage.getItem(SESSION_KEY));
	if (!s || (s.expires_s && s.expires_s * 1000 < Date.now())) return null;
	return s;
}

export function logout() {
	sessionStorage.removeItem(SESSION_KEY);
}

// One request. Resolves with the decoded JSON; rejects with ApiError (status 0 when the network failed).
export async function api(method, path, { body, headers = {}, token, timeoutMs = 15000 } = {}) {
	const h = { Accept: 'application/json', ...headers };
	const t = token === undefined ? session()?.token : token;
	if (t) h.Authorization = 'Bearer ' + t;
	if (body !== undefined) h['Content-Type'] = 'application/json';
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), timeoutMs);
	let res;
	try {
		res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
		                          signal: ctl.signal, cache: 'no-store' });
	} catch (e) {
		throw new ApiError(0, 'network', 'the server cannot be reached');
	} finally {
		clearTimeout(timer);
	}
	let data = null;
	try {
		data = await res.json();
	} catch (e) {
		data = null;
	}
	if (!res.ok) {
		const err = data && data.error ? data.error : { code: 'http_' + res.status, message: res.statusText };
		throw new ApiError(res.status, err.code, err.message);
	}
	return data;
}

export async function pair(code) {
	const r = await api('POST', '/v1/pair', { body: { code: code.trim().toUpperCase() }, token: null });
	localStorage.setItem(DEVICE_KEY, JSON.stringify({ device_token: r.device_token, terminal_id: r.terminal_id }));
	return r;
}

export async function login(employee, pin) {
	const d = device();
	if (!d) throw new ApiError(401, 'unpaired', 'this device is not paired');
	const r = await api('POST', '/v1/sessions',
	                    { body: { device_token: d.device_token, employee_id: employee.trim(), pin }, token: null });
	sessionStorage.setItem(SESSION_KEY, r.session_token);
	return parseToken(r.session_token);
}

export function storePath(s, rest) {
	return '/v1/stores/' + encodeURIComponent(s.store) + rest;
}

// The store's live stream. onChange(change) for every change event, onResync() when the server says the
// page must reload its snapshot (the stream is closed first), onState('live'|'reconnecting'),
// onClosed() when the server refused to (re)open the stream (401, 403, 5xx: the browser gives up then;
// the page checks its session with a REST call and opens a new stream). `from` is the stream id the
// page's data is current to. Returns { close }.
export function liveStream(s, from, { onChange, onResync, onState, onClosed }) {
	let es = null, closed = false, retry = null, last = from;
	const open = () => {
		let url = storePath(s, '/events') + '?access_token=' + encodeURIComponent(s.token);
		if (last) url += '&last_event_id=' + encodeURIComponent(last);
		es = new EventSource(url);
		es.onopen = () => onState && onState('live');
		es.addEventListener('change', (ev) => {
			last = ev.lastEventId || last;
			let c;
			try {
				c = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			onChange && onChange(c);
		});
		es.addEventListener('resync', () => {
			es.close();
			onState && onState('reconnecting');
			if (!closed) onResync && onResync();
		});
		es.onerror = () => {
			if (closed) return;
			onState && onState('reconnecting');
			// The browser reconnects by itself (with Last-Event-ID) unless the server refused the stream
			// (401, 403...): then the page decides, or it is opened again later from the last id seen.
			if (es.readyState === EventSource.CLOSED && !retry)
				retry = setTimeout(() => {
					retry = null;
					if (closed) return;
					if (onClosed) {
						closed = true;
						onClosed();
					} else {
						open();
					}
				}, 2000);
		};
	};
	open();
	return {
		close() {
			closed = true;
			if (retry) clearTimeout(retry);
			if (es) es.close();
		},
	};
}

export function money(minor, currency) {
	const v = (Number(minor) / 100).toFixed(2);
	return currency ? v + ' ' + currency : v;
}

// "12.50" or "12,5" -> 1250 minor units; NaN when it is not an amount.
export function parseMoney(text) {
	const t = String(text).trim().replace(',', '.');
	if (!/^\d{1,9}(\.\d{0,2})?$/.test(t)) return NaN;
	const [a, b = ''] = t.split('.');
	return Number(a) * 100 + Number((b + '00').slice(0, 2));
}

// A new element: el('div', {class: 'x', text: 'hi', dataset: {sku: 'A'}}, child...)
export function el(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (k === 'text') e.textContent = v;
		else if (k === 'class') e.className = v;
		else if (k === 'dataset') Object.assign(e.dataset, v);
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children) if (c !== null && c !== undefined) e.append(c);
	return e;
}

export function uuid() {
	if (crypto.randomUUID) return crypto.randomUUID();
	// pages served over plain http on a LAN are not a secure context: a v4 UUID from getRandomValues
	const b = crypto.getRandomValues(new Uint8Array(16));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Wires the pairing and login forms shared by both pages. onReady(session) once logged in.
export function setupAuth({ pairForm, loginForm, message, onReady }) {
	const show = () => {
		const paired = !!device();
		pairForm.hidden = paired;
		loginForm.hidden = !paired;
	};
	pairForm.addEventListener('submit', async (e) => {
		e.preventDefault();
		message.textContent = '';
		try {
			await pair(pairForm.elements.code.value);
			pairForm.reset();
			show();
			loginForm.elements.employee.focus();
		} catch (err) {
			message.textContent = 'Pairing failed: ' + err.message;
		}
	});
	loginForm.addEventListener('submit', async (e) => {
		e.preventDefault();
		message.textContent = '';
		try {
			const s = await login(loginForm.elements.employee.value, loginForm.elements.pin.value);
			loginForm.reset();
			onReady(s);
		} catch (err) {
			if (err.code === 'unpaired' || (err.status === 401 && /device|terminal/i.test(err.message))) {
				forgetDevice();
				show();
			}
			message.textContent = 'Login failed: ' + err.message;
		}
	});
	const unpair = loginForm.querySelector('[data-action=unpair]');
	if (unpair)
		unpair.addEventListener('click', () => {
			forgetDevice();
			show();
		});
	show();
}
