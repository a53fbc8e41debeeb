// The wallboard page: asks for a tenant id and that tenant's API credential
// (or takes them once from the address's fragment, #tenant=...&key=..., and
// removes them from the address), keeps them in this tab's sessionStorage,
// and polls the board JSON every second with the credential in an
// Authorization header. Every text goes in through textContent.
'use strict';
(function () {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 5000;
  const TENANT_KEY = 'dialgrid.wallboard.tenant';
  const SECRET_KEY = 'dialgrid.wallboard.credential';
  const STATES = [['ready', 'Ready'], ['reserved', 'Reserved'], ['on_call', 'On call'],
    ['wrap_up', 'Wrap-up'], ['not_ready', 'Not ready'], ['logged_out', 'Logged out']];
  const STATE_LABEL = Object.fromEntries(STATES);
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let updates = 0;
  let lastOk = 0;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function td(text, cls) { return el('td', cls, text); }
  function num(v) { return v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US'); }
  function pct(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(1) + ' %'; }
  function dur(s) {
    if (s === null || s === undefined) return '—';
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
    return h > 0 ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
  }
  function tile(value, label, cls) {
    const t = el('div', 'tile' + (cls ? ' ' + cls : ''));
    t.appendChild(el('div', 'v', value));
    t.appendChild(el('div', 'k', label));
    return t;
  }
  function unavailable(id, part, what) {
    const p = $(id);
    if (part && part.available) { p.hidden = true; p.textContent = ''; return false; }
    p.hidden = false;
    const reason = part ? part.reason : 'UNAVAILABLE';
    p.textContent = `${what} unavailable (${reason})` + (part && part.message ? `: ${part.message}` : '');
    return true;
  }

  // ------------------------------------------------------------ credentials

  function takeFragment() {
    if (!location.hash || location.hash.length < 2) return;
    const params = new URLSearchParams(location.hash.slice(1));
    const tenant = params.get('tenant');
    const key = params.get('key');
    if (tenant && key) {
      sessionStorage.setItem(TENANT_KEY, tenant);
      sessionStorage.setItem(SECRET_KEY, key);
    }
    // The credential must not stay in the address bar or the history.
    history.replaceState(null, '', location.pathname + location.search);
  }

  function clearBoard() {
    for (const id of ['agent-counts', 'today-tiles']) $(id).replaceChildren();
    for (const id of ['agents-table', 'campaigns-table']) $(id).tBodies[0].replaceChildren();
    for (const id of ['tenant-name', 'agents-total', 'today-day', 'campaigns-total']) $(id).textContent = '';
    document.body.dataset.generatedAt = '';
  }

  function showSignIn(message) {
    stop();
    clearBoard();
    document.body.dataset.view = 'sign-in';
    $('board').hidden = true;
    $('sign-in').hidden = false;
    $('sign-out').hidden = true;
    $('sign-in-error').textContent = message || '';
    $('tenant-input').value = sessionStorage.getItem(TENANT_KEY) || '';
    setLive(false, 'not connected');
  }

  function showBoard() {
    document.body.dataset.view = 'board';
    $('sign-in').hidden = true;
    $('board').hidden = false;
    $('sign-out').hidden = false;
    $('sign-in-error').textContent = '';
  }

  function signOut(message) {
    sessionStorage.removeItem(SECRET_KEY);
    showSignIn(message);
  }

  // ---------------------------------------------------------------- polling

  function stop() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }
  function schedule() {
    stop();
    timer = setTimeout(poll, POLL_MS);
  }
  function setLive(on, text) {
    const live = $('live');
    live.className = 'live ' + (on ? 'on' : 'off');
    live.textContent = text;
  }

  async function poll() {
    const tenant = sessionStorage.getItem(TENANT_KEY);
    const key = sessionStorage.getItem(SECRET_KEY);
    if (!tenant || !key) { showSignIn(''); return; }
    const abort = new AbortController();
    const giveUp = setTimeout(() => abort.abort(), TIMEOUT_MS);
    let refused = false;
    try {
      const res = await fetch('/api/v1/tenants/' + encodeURIComponent(tenant) + '/board', {
        headers: { 'Authorization': 'Bearer ' + key }, cache: 'no-store', signal: abort.signal,
        credentials: 'omit', referrerPolicy: 'no-referrer',
      });
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      const err = body && body.error ? body.error : null;
      if (res.status === 401 || res.status === 403 || res.status === 400) {
        // Refused: nothing of the board stays on the screen.
        refused = true;
        const why = err ? `${err.reason}: ${err.message}` : `HTTP ${res.status}`;
        signOut(`Refused (${res.status} ${why})`);
        return;
      }
      if (!res.ok) {
        const part = { available: false, reason: err ? err.reason : 'HTTP_' + res.status,
          message: err ? err.message : '' };
        render({ generated_at: null, tenant: { id: tenant, ...part }, agents: part, today: part,
          campaigns: part });
        setLive(false, 'platform unavailable');
        return;
      }
      render(body);
      lastOk = Date.now();
      setLive(true, 'live');
    } catch (e) {
      setLive(false, Date.now() - lastOk > 3000 ? 'wallboard server unreachable' : 'retrying');
    } finally {
      clearTimeout(giveUp);
      if (!refused && document.body.dataset.view === 'board') schedule();
    }
  }

  // -------------------------------------------------------------- rendering

  function render(b) {
    const t = b.tenant || {};
    $('tenant-name').textContent = t.available ? `${t.display_name} (${t.id}, ${t.time_zone})`
      : `${t.id || ''} (tenant details unavailable)`;
    renderAgents(b.agents);
    renderToday(b.today, b.campaigns);
    renderCampaigns(b.campaigns);
    updates += 1;
    document.body.dataset.updates = String(updates);
    document.body.dataset.generatedAt = b.generated_at || '';
  }

  function renderAgents(a) {
    const counts = $('agent-counts');
    const body = $('agents-table').tBodies[0];
    counts.replaceChildren();
    body.replaceChildren();
    $('agents-total').textContent = '';
    if (unavailable('agents-unavailable', a, 'Agent state')) return;
    const n = a.counts.total;
    $('agents-total').textContent = `${n}${a.truncated ? '+' : ''} agent${n === 1 ? '' : 's'}`;
    for (const [state, label] of STATES) counts.appendChild(tile(num(a.counts[state]), label, 's-' + state));
    for (const agent of a.items) {
      const tr = el('tr');
      tr.dataset.agent = agent.id;
      tr.dataset.state = agent.state;
      const who = td(agent.display_name || agent.id);
      who.title = agent.name;
      tr.appendChild(who);
      tr.appendChild(td(agent.team));
      const st = el('td');
      st.appendChild(el('span', 'badge s-' + agent.state, STATE_LABEL[agent.state] || agent.state));
      tr.appendChild(st);
      tr.appendChild(td(agent.reason_code, 'sub'));
      tr.appendChild(td(agent.station, 'sub'));
      tr.appendChild(td(dur(agent.seconds_in_state), 'num'));
      body.appendChild(tr);
    }
  }

  function renderToday(t, c) {
    const tiles = $('today-tiles');
    tiles.replaceChildren();
    $('today-day').textContent = '';
    const agentsOut = unavailable('today-unavailable', t, 'Agent KPIs');
    if (!agentsOut) {
      $('today-day').textContent = t.day;
      tiles.appendChild(tile(num(t.calls_handled), 'Calls handled'));
      tiles.appendChild(tile(dur(t.talk_seconds), 'Talk time'));
      tiles.appendChild(tile(pct(t.occupancy), 'Occupancy'));
      tiles.appendChild(tile(dur(t.logged_in_seconds), 'Logged in'));
    }
    if (c && c.available) {
      const s = c.totals;
      tiles.appendChild(tile(num(s.dials), 'Dials'));
      tiles.appendChild(tile(num(s.connected), 'Connects'));
      tiles.appendChild(tile(num(s.abandoned), 'Abandons'));
      tiles.appendChild(tile(pct(s.abandon_rate_24h), 'Abandon rate 24 h',
        s.abandon_rate_24h !== null && s.abandon_rate_24h > 0.03 ? 'alert' : ''));
    }
    const sales = tile(t && t.sales !== null && t.sales !== undefined ? num(t.sales) : '—', 'Sales');
    sales.title = t && t.sales !== null && t.sales !== undefined
      ? 'Dispositions counted as sales since ' + (t.sales_since || 'today\'s start') + ' (reporting)'
      : 'Sales are not available' + (t && t.sales_reason ? ' (' + t.sales_reason + ')' : '');
    tiles.appendChild(sales);
  }

  function renderCampaigns(c) {
    const body = $('campaigns-table').tBodies[0];
    body.replaceChildren();
    $('campaigns-total').textContent = '';
    if (unavailable('campaigns-unavailable', c, 'Dialing')) return;
    const n = c.totals.campaigns;
    $('campaigns-total').textContent =
      `${n}${c.truncated ? '+' : ''} campaign${n === 1 ? '' : 's'}, ${c.totals.running} running`;
    if (c.items.length === 0) {
      const tr = el('tr');
      const cell = td('No campaigns', 'na');
      cell.colSpan = 13;
      tr.appendChild(cell);
      body.appendChild(tr);
    }
    for (const cp of c.items) {
      const tr = el('tr');
      tr.dataset.campaign = cp.id;
      tr.dataset.state = cp.state;
      const name = td(cp.display_name || cp.id);
      name.title = cp.name;
      tr.appendChild(name);
      const st = el('td');
      st.appendChild(el('span', 'badge c-' + cp.state, cp.state));
      if (cp.state_reason) st.appendChild(el('span', 'sub', ' ' + cp.state_reason));
      tr.appendChild(st);
      const f = cp.figures;
      if (!f || !f.available) {
        tr.appendChild(td(cp.mode, 'sub'));
        const cell = td(f && f.reason === 'CAMPAIGN_NOT_STARTED' ? 'not started'
          : `figures unavailable (${f ? f.reason : 'UNAVAILABLE'})`, 'na');
        cell.colSpan = 10;
        tr.appendChild(cell);
        body.appendChild(tr);
        continue;
      }
      tr.dataset.dialing = String(f.dialing);
      tr.appendChild(td(f.dialing_mode && f.dialing_mode !== cp.mode
        ? `${cp.mode} (now ${f.dialing_mode})` : cp.mode, 'sub'));
      tr.appendChild(td(`${num(f.calls_in_progress)} / ${num(f.max_lines)}`, 'num'));
      tr.appendChild(td(f.lines_per_agent === null ? '—' : f.lines_per_agent.toFixed(2), 'num'));
      tr.appendChild(td(`${f.agents_ready} / ${f.agents_on_call} / ${f.agents_wrap_up}`, 'num'));
      tr.appendChild(td(f.hopper_dry ? 'dry' : num(f.hopper_contacts), 'num'));
      tr.appendChild(td(num(f.dials), 'num'));
      tr.appendChild(td(num(f.connected), 'num'));
      tr.appendChild(td(num(f.abandoned), 'num'));
      const over = f.ledger_known && f.over_abandon_cap ? 'num over' : 'num';
      tr.appendChild(td(f.ledger_known ? pct(f.abandon_rate_24h) : '—', over));
      tr.appendChild(td(f.ledger_known ? pct(f.abandon_rate_30d) : '—', over));
      tr.appendChild(td(f.ledger_known ? pct(f.max_abandon_rate) : '—', 'num'));
      body.appendChild(tr);
    }
  }

  // ------------------------------------------------------------------ start

  function tick() { $('clock').textContent = new Date().toLocaleTimeString('en-GB'); }

  document.addEventListener('DOMContentLoaded', () => {
    takeFragment();
    $('sign-in-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const tenant = $('tenant-input').value.trim();
      const key = $('key-input').value.trim();
      $('key-input').value = '';
      if (!tenant || !key) return;
      sessionStorage.setItem(TENANT_KEY, tenant);
      sessionStorage.setItem(SECRET_KEY, key);
      showBoard();
      poll();
    });
    $('sign-out').addEventListener('click', () => signOut(''));
    tick();
    setInterval(tick, 1000);
    if (sessionStorage.getItem(TENANT_KEY) && sessionStorage.getItem(SECRET_KEY)) {
      showBoard();
      poll();
    } else {
      showSignIn('');
    }
  });
})();
