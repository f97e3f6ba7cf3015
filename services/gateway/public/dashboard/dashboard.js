// The Vigil ops dashboard, hand-written, no framework. Takes a bearer token from the URL fragment
// (#token=..., then removed from the address bar) or a form, keeps it in sessionStorage, polls
// GET /v1/dashboard every 2 s and redraws. Every value reaches the page through textContent or an
// SVG attribute, never as markup; nothing here can load or draw an image.
'use strict';

(() => {
  const TOKEN_KEY = 'vigil.dashboard.token';
  const POLL_MS = 2000;
  /** Older than this (or the last poll failed) and the page says its numbers are stale. */
  const STALE_MS = 6000;
  const SVG = 'http://www.w3.org/2000/svg';
  const VERDICTS = ['clean', 'matched', 'unscannable'];
  const STAGE_NAMES = { fetch: 'Fetch', decode: 'Decode', hash: 'Hash', match: 'Match', record: 'Record', endToEnd: 'End to end' };
  const number = new Intl.NumberFormat('en');

  const $ = (id) => document.getElementById(id);
  let token = null;
  let timer = null;
  /** Bumped on every token change: a poll started under an old token drops its answer. */
  let generation = 0;
  let lastOkAt = 0;
  let lastError = null;
  let failures = 0;

  // DOM helpers: text nodes and attributes only, never parsed markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children.flat(Infinity)) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }
  function fill(id, ...children) {
    $(id).replaceChildren(...children.flat(Infinity).filter(Boolean));
  }
  const fmt = (n) => (n === null || n === undefined ? '—' : number.format(n));
  const ms = (n) => (n < 10 ? n.toFixed(1) : number.format(Math.round(n))) + ' ms';
  function ago(iso) {
    if (!iso) return '—';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 90) return `${s} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }
  const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  function table(head, rows, numeric) {
    return el('table', {},
      el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { class: numeric.includes(i) ? 'num' : null, scope: 'col' }, h)))),
      el('tbody', {}, rows));
  }
  const none = (text) => el('p', { class: 'none' }, text);
  /** A horizontal bar for `value` out of `max`, in SVG (no inline style needed under the CSP). */
  function meter(value, max, kind) {
    const width = max > 0 ? Math.max(value > 0 ? 1 : 0, (value / max) * 100) : 0;
    return svg('svg', { class: 'meter', viewBox: '0 0 100 8', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
      svg('rect', { class: 'track', x: 0, y: 0, width: 100, height: 8 }),
      svg('rect', { class: `fill ${kind || ''}`, x: 0, y: 0, width: width.toFixed(2), height: 8 }));
  }

  // Token handling.
  function tokenFromFragment() {
    const parts = location.hash.replace(/^#/, '').split('&').filter(Boolean);
    const index = parts.findIndex((p) => p.startsWith('token='));
    if (index < 0) return null;
    let value = parts[index].slice('token='.length);
    try { value = decodeURIComponent(value); } catch { /* keep it raw */ }
    parts.splice(index, 1);
    // Out of the address bar (and so out of history and screenshots) at once.
    history.replaceState(null, '', location.pathname + location.search + (parts.length ? `#${parts.join('&')}` : ''));
    return value.trim() || null;
  }
  function useToken(value) {
    token = value;
    generation += 1;
    clearTimeout(timer);
    if (value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      $('auth').hidden = true;
      $('forget').hidden = false;
      $('status').textContent = 'Connecting…';
      poll();
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
      $('forget').hidden = true;
    }
  }
  function askForToken(message) {
    useToken(null);
    $('board').hidden = true;
    $('empty').hidden = true;
    $('stale').hidden = true;
    $('failure').hidden = true;
    $('auth-message').textContent = message || '';
    $('status').textContent = 'Not signed in';
    $('status').className = 'status';
    $('auth').hidden = false;
    $('token-input').value = '';
    $('token-input').focus();
  }
  function refusal(status, code) {
    if (status === 401) return 'The gateway refused this token (401 unauthorized): it is mistyped, revoked or from another deployment. Enter a valid token.';
    if (code === 'forbidden_tenant') return 'This token is limited to some tenants (403 forbidden_tenant). The dashboard covers every tenant: use a token for all tenants with the metrics:read scope.';
    return 'This token lacks the metrics:read scope (403 forbidden). Ask for a token with metrics:read, or use the local token `vigil serve` prints.';
  }

  // Polling.
  async function poll() {
    const mine = generation;
    let next = true;
    try {
      const response = await fetch('/v1/dashboard', {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
      });
      if (mine !== generation) return;
      const body = await response.json().catch(() => null);
      if (response.status === 401 || response.status === 403) {
        next = false;
        askForToken(refusal(response.status, body && body.error && body.error.code));
        return;
      }
      if (!response.ok) {
        const code = body && body.error ? body.error.code : `HTTP ${response.status}`;
        const message = body && body.error ? body.error.message : response.statusText;
        throw new Error(`${code}: ${message}`);
      }
      render(body);
      lastOkAt = Date.now();
      lastError = null;
      failures = 0;
      $('failure').hidden = true;
    } catch (err) {
      if (mine !== generation) return;
      failures += 1;
      lastError = err instanceof TypeError ? 'the gateway did not answer' : String(err.message || err);
      if (lastOkAt === 0) {
        $('failure').textContent = `Could not load the dashboard: ${lastError}. Retrying every ${POLL_MS / 1000} s.`;
        $('failure').hidden = false;
      }
    } finally {
      if (mine === generation) {
        showFreshness();
        if (next && token) timer = setTimeout(poll, POLL_MS);
      }
    }
  }

  function showFreshness() {
    const status = $('status');
    if (!token) return;
    if (lastOkAt === 0) {
      status.textContent = lastError ? 'Not connected' : 'Connecting…';
      status.className = 'status stale';
      return;
    }
    const age = Math.round((Date.now() - lastOkAt) / 1000);
    status.textContent = `Updated ${age} s ago`;
    const stale = lastError !== null || Date.now() - lastOkAt > STALE_MS;
    status.className = stale ? 'status stale' : 'status ok';
    const banner = $('stale');
    if (stale) {
      const why = lastError ? `${failures} poll${failures === 1 ? '' : 's'} failed (${lastError})` : 'no answer yet';
      banner.textContent = `Stale data: ${why}. Showing the numbers from ${clock(new Date(lastOkAt).toISOString())}, ${age} s ago.`;
    }
    banner.hidden = !stale;
  }

  // Rendering.
  function render(snap) {
    $('auth').hidden = true;
    if (snap.empty) {
      $('board').hidden = true;
      $('empty').hidden = false;
      const lists = snap.lists.filter((l) => l.enabled);
      if (lists.length === 0) {
        fill('empty-lists', 'No hash list is loaded yet either: import one with ', el('code', {}, 'vigil lists import FILE --name NAME --algo pdq'), ' (the demo does this for you).');
      } else {
        fill('empty-lists', `Lists loaded: ${lists.map((l) => `${l.list} v${l.version ?? '?'} (${fmt(l.entries)} entries)`).join(', ')}.`);
      }
      return;
    }
    $('empty').hidden = true;
    $('board').hidden = false;
    renderTiles(snap);
    renderThroughput(snap.throughput);
    renderLatency(snap.latency);
    renderMatches(snap.matches);
    renderUnscannable(snap.unscannable);
    renderLag(snap.lag);
    renderPipeline(snap);
    renderLists(snap.lists);
    renderRecent(snap.recent);
  }

  function tile(key, label, value, note, extraClass) {
    return el('div', { class: `tile ${extraClass || ''}`, 'data-metric': key },
      el('div', { class: 'label' }, label),
      el('div', { class: 'value' }, fmt(value)),
      el('div', { class: 'note' }, note));
  }

  function renderTiles(snap) {
    const h = snap.throughput.lastHour;
    const d = snap.throughput.last24h;
    fill('tiles',
      tile('total', 'Scans · 1 h', h.total, `${fmt(d.total)} in 24 h`),
      tile('clean', 'Clean', h.clean, `${fmt(d.clean)} in 24 h`, 'clean'),
      tile('matched', 'Matched', h.matched, `${fmt(d.matched)} in 24 h`, 'matched'),
      tile('unscannable', 'Unscannable', h.unscannable, `${fmt(d.unscannable)} in 24 h`, 'unscannable'),
      tile('blocked', 'Blocked', h.blocked, `${fmt(d.blocked)} in 24 h`),
      tile('review', 'Held for review', h.review, `${fmt(d.review)} in 24 h`),
      tile('reports-held', 'Reports held', snap.reports.held, `${fmt(snap.reports.queued)} queued`, snap.reports.held > 0 ? 'alert' : ''),
      tile('outbox', 'Outbox backlog', snap.outbox.backlog, snap.outbox.oldestAt ? `oldest ${ago(snap.outbox.oldestAt)}` : 'all published',
        snap.outbox.backlog > 0 && Date.now() - Date.parse(snap.outbox.oldestAt) > 60000 ? 'alert' : ''));
  }

  function renderThroughput(t) {
    fill('legend', VERDICTS.map((v) => [el('span', { class: `swatch ${v}` }), v]));
    // Drawn at the panel's own width, so text and bars are not stretched.
    const W = Math.max(320, Math.round($('chart-throughput').clientWidth) || 600), H = 130, top = 8, bottom = 18, left = 34, right = 4;
    const slot = (W - left - right) / t.minutes.length;
    const max = Math.max(1, ...t.minutes.map((m) => m.clean + m.matched + m.unscannable));
    const scale = (H - top - bottom) / max;
    const bars = t.minutes.map((m, i) => {
      let y = H - bottom;
      const rects = VERDICTS.map((v) => {
        const h = m[v] * scale;
        y -= h;
        return h > 0 ? svg('rect', { class: `bar-${v}`, x: (left + i * slot + 0.5).toFixed(2), y: y.toFixed(2), width: Math.max(1, slot - 1).toFixed(2), height: h.toFixed(2) }) : null;
      });
      const total = m.clean + m.matched + m.unscannable;
      return svg('g', { 'data-minute': m.at },
        svg('title', {}, `${clock(m.at)}: ${total} scans (${m.clean} clean, ${m.matched} matched, ${m.unscannable} unscannable)`),
        svg('rect', { x: (left + i * slot).toFixed(2), y: top, width: slot.toFixed(2), height: H - top - bottom, fill: 'transparent' }),
        rects);
    });
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Scans per minute by verdict, last 60 minutes' },
      svg('line', { class: 'axis', x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }),
      svg('line', { class: 'axis', x1: left, y1: top, x2: W - right, y2: top }),
      svg('text', { class: 'tick', x: left - 4, y: top + 8, 'text-anchor': 'end' }, fmt(max)),
      svg('text', { class: 'tick', x: left - 4, y: H - bottom, 'text-anchor': 'end' }, '0'),
      svg('text', { class: 'tick', x: left, y: H - 4 }, '−60 min'),
      svg('text', { class: 'tick', x: left + (W - left - right) / 2, y: H - 4, 'text-anchor': 'middle' }, '−30 min'),
      svg('text', { class: 'tick', x: W - right, y: H - 4, 'text-anchor': 'end' }, 'now'),
      bars);
    fill('chart-throughput', chart);

    const h = t.lastHour;
    let x = 0;
    const segments = VERDICTS.map((v) => {
      const w = h.total > 0 ? (h[v] / h.total) * 100 : 0;
      const rect = w > 0 ? svg('rect', { class: `bar-${v}`, x: x.toFixed(3), y: 0, width: w.toFixed(3), height: 12 }) : null;
      x += w;
      return rect;
    });
    const pct = (n) => (h.total > 0 ? `${((n / h.total) * 100).toFixed(1)}%` : '—');
    const lanes = t.lanes24h.map((l) => `${l.lane} ${fmt(l.count)}`).join(' · ');
    fill('mix',
      svg('svg', { viewBox: '0 0 100 12', preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Verdict mix, last hour' },
        svg('rect', { x: 0, y: 0, width: 100, height: 12, fill: '#edf0f3' }), segments),
      el('p', {}, `Last hour: ${pct(h.clean)} clean · ${pct(h.matched)} matched · ${pct(h.unscannable)} unscannable. Lanes (24 h): ${lanes || '—'}`));
  }

  function renderLatency(latency) {
    if (latency.status === 'no_timing_column') return fill('latency', none('No timing data yet: this database does not record per-stage timings (it predates migration 0010).'));
    if (latency.status === 'no_samples') return fill('latency', none('No timing data yet: no scan recorded timings in the last 15 minutes.'));
    fill('latency', table(['Stage', 'p50', 'p95', 'p99', 'n'], latency.stages.map((s) =>
      el('tr', { 'data-stage': s.stage },
        el('td', {}, STAGE_NAMES[s.stage] || s.stage),
        el('td', { class: 'num' }, ms(s.p50Ms)),
        el('td', { class: 'num' }, ms(s.p95Ms)),
        el('td', { class: 'num' }, ms(s.p99Ms)),
        el('td', { class: 'num' }, fmt(s.samples)))), [1, 2, 3, 4]));
  }

  function renderMatches(matches) {
    // Per list and action (triggers summed; the trigger split is in the title).
    const byKey = new Map();
    for (const m of matches.byList) {
      const key = `${m.list}\u0000${m.action}`;
      const entry = byKey.get(key) || { list: m.list, action: m.action, count: 0, triggers: [] };
      entry.count += m.count;
      entry.triggers.push(`${m.trigger} ${m.count}`);
      byKey.set(key, entry);
    }
    const rows = [...byKey.values()].sort((a, b) => b.count - a.count || a.list.localeCompare(b.list));
    if (rows.length === 0) return fill('matches', none('No matches in the last 24 hours.'));
    const max = Math.max(...rows.map((r) => r.count));
    fill('matches', table(['List', 'Action', 'Hits', ''], rows.map((r) =>
      el('tr', { 'data-list': r.list, 'data-action': r.action, title: `by trigger: ${r.triggers.join(', ')}` },
        el('td', {}, r.list),
        el('td', {}, r.action),
        el('td', { class: 'num', 'data-count': r.count }, fmt(r.count)),
        el('td', { class: 'bar' }, meter(r.count, max, 'matched')))), [2]));
  }

  function renderUnscannable(unscannable) {
    if (unscannable.byReason.length === 0) return fill('unscannable', none('Nothing unscannable in the last 24 hours.'));
    const max = Math.max(...unscannable.byReason.map((r) => r.count));
    fill('unscannable', table(['Reason', 'Scans', ''], unscannable.byReason.map((r) =>
      el('tr', { 'data-reason': r.reason },
        el('td', {}, r.reason),
        el('td', { class: 'num', 'data-count': r.count }, fmt(r.count)),
        el('td', { class: 'bar' }, meter(r.count, max, 'unscannable')))), [1]));
  }

  function renderLag(lag) {
    const parts = [];
    if (lag.status === 'not_configured') parts.push(none('This gateway reports no consumer lag (no bus was given to its dashboard).'));
    else if (lag.status === 'unavailable') parts.push(none('The bus did not answer in time: lag unknown.'));
    else if (lag.groups.length === 0) parts.push(none('No consumer groups yet.'));
    else {
      const max = Math.max(...lag.groups.map((g) => g.lag));
      parts.push(table(['Topic', 'Group', 'Behind', ''], lag.groups.map((g) =>
        el('tr', { 'data-topic': g.topic, 'data-group': g.group },
          el('td', {}, g.topic),
          el('td', {}, g.group),
          el('td', { class: 'num' }, fmt(g.lag)),
          el('td', { class: 'bar' }, meter(g.lag, max)))), [2]));
    }
    if (lag.deadLetters) {
      const full = lag.deadLetters.filter((d) => d.depth > 0);
      parts.push(full.length === 0
        ? el('p', { class: 'muted' }, 'Dead-letter topics: empty.')
        : table(['Dead-letter topic', 'Events'], full.map((d) => el('tr', { 'data-dlq': d.topic }, el('td', {}, d.topic), el('td', { class: 'num' }, fmt(d.depth)))), [1]));
    }
    fill('lag', parts);
  }

  function kv(pairs) {
    return el('dl', { class: 'kv' }, pairs.map(([label, value, cls, key]) => [
      el('dt', {}, label),
      el('dd', { class: cls || null, 'data-key': key || null }, value),
    ]));
  }

  function renderPipeline(snap) {
    const r = snap.reports, e = snap.evidence, q = snap.quarantine;
    const held = r.heldByReason.map((h) => [`  held: ${h.reason}`, fmt(h.count), 'warn', `held-${h.reason}`]);
    fill('pipeline', el('div', { class: 'pipeline' },
      el('div', {},
        el('div', { class: 'group-title' }, 'Reports'),
        kv([
          ['Queued', fmt(r.queued), null, 'reports-queued'],
          ['Submitting', fmt(r.submitting), null, 'reports-submitting'],
          ['Held for a person', fmt(r.held), r.held > 0 ? 'warn' : null, 'reports-held'],
          ...held,
          ['Filed (24 h / all)', `${fmt(r.filedLast24h)} / ${fmt(r.filed)}`, null, 'reports-filed'],
          ['Failed', fmt(r.failed), r.failed > 0 ? 'error' : null, 'reports-failed'],
          ['Oldest queued', ago(r.oldestQueuedAt), null, 'reports-oldest'],
        ])),
      el('div', {},
        el('div', { class: 'group-title' }, 'Evidence'),
        kv([
          ['Preserved', fmt(e.preserved), null, 'evidence-preserved'],
          ['Pending', fmt(e.pending), null, 'evidence-pending'],
          ['Failed', e.failed === null ? 'unknown' : fmt(e.failed), e.failed > 0 ? 'error' : null, 'evidence-failed'],
          ['On legal hold', fmt(e.legalHold), null, 'evidence-hold'],
          ['Expiring ≤ 30 d', fmt(e.expiringWithin30d), null, 'evidence-expiring'],
        ]),
        el('div', { class: 'group-title' }, 'Quarantine'),
        kv([
          ['In quarantine', fmt(q.applied), null, 'quarantine-applied'],
          ['Pending', fmt(q.pending), null, 'quarantine-pending'],
          ['Failed', fmt(q.failed), q.failed > 0 ? 'error' : null, 'quarantine-failed'],
          ['Released', fmt(q.released), null, 'quarantine-released'],
        ]))));
  }

  function renderLists(lists) {
    if (lists.length === 0) return fill('lists', el('p', { class: 'none' }, 'No hash list imported: import one with ', el('code', {}, 'vigil lists import FILE --name NAME --algo pdq'), '.'));
    fill('lists', table(['List', 'Algorithm', 'Action', 'Version', 'Entries', 'Suspended', 'Active since', 'Last retro-match'], lists.map((l) => {
      const r = l.lastRetro;
      // A large delta is joined in passes: while it runs, say which.
      const pass = r && r.status === 'matching' && r.passes > 1 ? ` (pass ${r.pass} of ${r.passes})` : '';
      const retro = r ? `v${r.version} ${r.status}${pass}, ${fmt(r.matched)} matched, ${ago(r.finishedAt || r.startedAt)}` : 'never';
      return el('tr', { 'data-list': l.list },
        el('td', { title: l.name }, l.list, l.enabled ? '' : ' (disabled)'),
        el('td', {}, l.algorithm),
        el('td', {}, l.action),
        el('td', { class: 'num', 'data-key': 'version' }, l.version === null ? '—' : `v${l.version}`),
        el('td', { class: 'num', 'data-key': 'entries' }, fmt(l.entries)),
        el('td', { class: 'num' }, fmt(l.suspended)),
        el('td', { title: l.activatedAt || '' }, ago(l.activatedAt)),
        el('td', { 'data-key': 'retro' }, retro));
    }), [3, 4, 5]));
  }

  function renderRecent(recent) {
    if (recent.length === 0) return fill('recent', none('Every recent scan was clean.'));
    const dash = (v) => (v === null || v === undefined ? '—' : v);
    fill('recent', el('div', { class: 'recent-wrap' }, table(
      ['Time', 'Verdict', 'Action', 'List', 'Version', 'Algorithm', 'Distance', 'Lane', 'Scan id', 'Match id'],
      recent.map((d) => el('tr', { class: `verdict-${d.verdict}`, 'data-scan-id': d.scanId },
        el('td', { title: d.at }, clock(d.at)),
        el('td', { class: 'verdict' }, d.verdict === 'unscannable' ? `unscannable (${d.reason})` : d.verdict + (d.review ? ' (held)' : '')),
        el('td', {}, dash(d.action || (d.blocked ? 'block' : null))),
        el('td', {}, dash(d.list)),
        el('td', { class: 'num' }, d.listVersion === null ? '—' : `v${d.listVersion}`),
        el('td', {}, dash(d.algorithm)),
        el('td', { class: 'num' }, dash(d.distance)),
        el('td', {}, d.lane),
        el('td', { class: 'id', title: d.scanId }, d.scanId),
        el('td', { class: 'id', title: d.matchId || '' }, dash(d.matchId)))),
      [4, 6])));
  }

  // Start.
  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('token-input').value.trim();
      $('token-input').value = '';
      if (value) {
        lastOkAt = 0;
        lastError = null;
        useToken(value);
      }
    });
    $('forget').addEventListener('click', () => askForToken('Token forgotten.'));
    // A new #token= link opened in this tab changes only the fragment: no reload, so listen.
    window.addEventListener('hashchange', () => {
      const value = tokenFromFragment();
      if (value) {
        lastOkAt = 0;
        lastError = null;
        useToken(value);
      }
    });
    setInterval(showFreshness, 1000);
    const fromFragment = tokenFromFragment();
    const stored = fromFragment || sessionStorage.getItem(TOKEN_KEY);
    if (stored) useToken(stored);
    else askForToken('');
  });
})();
