// loom ui: the browser side of `loom ui` (docs/ui.md).
//
// One page, routed on the path with history.pushState. Everything the store says is
// put in the DOM as text (textContent, text nodes, setAttribute on plain attributes):
// the store holds what tasks printed and returned, which is untrusted.
'use strict';

(() => {
  // ---------------------------------------------------------------- constants

  const TREE_PAGE = 500;        // children fetched per "show more"
  const TREE_SEEK_PAGE = 5000;  // bigger pages (the API maximum) while looking for a deep-linked node
  const FEW_PULSING = 12;       // running tree rows that may pulse at once
  const WINDOW_MIN = 1500;      // levels with more loaded rows refresh only around the view
  const WINDOW_MARGIN = 300;    // rows refreshed above and below the visible ones
  const API_MAX_CHILDREN = 5000;
  const ITEMS_PAGE = 200;
  const TIMELINE_ROWS = 500;
  const TIMELINE_REDRAW_MS = 5000;
  const LIST_PAGE = 200;
  const REFRESH_DELAY_MS = 150; // coalesces bursts of change events (the server polls every 100 ms)
  const MAX_TEXT = 512 * 1024;  // longest JSON/text shown in one <pre>
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- DOM helpers

  // Only local URLs are ever put in href: the app builds them all itself.
  const isLocalUrl = (v) => typeof v === 'string' && ((v.startsWith('/') && !v.startsWith('//')) || v.startsWith('#'));

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith('on')) {
        // Handlers only as functions; a string would be inline script.
        if (typeof value !== 'function') throw new Error(`refused attribute ${key}`);
        node.addEventListener(key.slice(2), value);
      } else if (key === 'style') {
        throw new Error('refused style attribute (CSP): use classes or the CSSOM');
      } else if ((key === 'href' || key === 'src') && !isLocalUrl(value)) {
        throw new Error(`refused non-local ${key}`);
      } else if (key === 'class') {
        node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value));
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }

  function append(parent, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(parent, child);
      else if (child instanceof Node) parent.appendChild(child);
      else parent.appendChild(document.createTextNode(String(child)));
    }
    return parent;
  }

  /** el('a', {href: '/', class: 'x'}, 'text', node, [more]): strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    return append(node, children);
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return append(node, children);
  }

  const $ = (id) => document.getElementById(id);

  /** Replaces a node's children; like el(), null/false children are skipped (replaceChildren would print "null"). */
  function fill(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }
  const frag = (...children) => append(document.createDocumentFragment(), children);

  // ---------------------------------------------------------------- formatting

  const pad2 = (n) => String(n).padStart(2, '0');

  /** "850 us", "12.3 ms", "4.5 s", "3m07s", "2h05m". */
  function fmtDuration(us) {
    if (typeof us !== 'number' || !Number.isFinite(us) || us < 0) return '-';
    us = Math.round(us);
    if (us < 1000) return `${us} us`;
    if (us < 999950) return `${(us / 1000).toFixed(1)} ms`;
    const s = us / 1e6;
    if (s < 59.95) return `${s.toFixed(1)} s`;
    const whole = Math.round(s);
    if (whole < 3600) return `${Math.floor(whole / 60)}m${pad2(whole % 60)}s`;
    return `${Math.floor(whole / 3600)}h${pad2(Math.floor((whole % 3600) / 60))}m`;
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const fmtTime = (us) => (us > 0 ? timeFormat.format(new Date(us / 1000)) : '-');
  const isoTime = (us) => (us > 0 ? new Date(us / 1000).toISOString() : '');

  const fmtCount = (n) => (typeof n === 'number' ? n.toLocaleString() : String(n ?? '-'));

  function fmtBytes(n) {
    if (typeof n !== 'number') return '-';
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }

  /** A CSS class for a phase or status: "not started" -> "phase-not-started". */
  const phaseClass = (phase) => `phase-${String(phase || 'unknown').toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

  const firstLine = (text) => {
    const s = String(text || '');
    const nl = s.indexOf('\n');
    return nl < 0 ? s : `${s.slice(0, nl)} …`;
  };
  const clip = (s, n) => (s.length > n ? `${s.slice(0, Math.max(1, n - 1))}…` : s);

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  function prettyJson(value) {
    let text;
    try { text = JSON.stringify(value, null, 2); } catch { text = String(value); }
    return text === undefined ? String(value) : text;
  }

  /** A <pre> of text, cut at MAX_TEXT with a note: a huge output must not freeze the page. */
  function pre(text, cls) {
    const s = String(text);
    if (s.length <= MAX_TEXT) return el('pre', { class: cls }, s);
    return frag(el('pre', { class: cls }, s.slice(0, MAX_TEXT)),
      el('p', { class: 'note' }, `Showing the first ${fmtBytes(MAX_TEXT)} of ${fmtCount(s.length)} characters.`));
  }

  function badge(phase, attrs) {
    return el('span', { ...attrs, class: ['badge', phaseClass(phase), attrs && attrs.class] }, String(phase || '-'));
  }

  /** A duration; one of a running thing keeps counting (see the ticker). */
  function durationNode(tag, cls, started, ended, duration, running) {
    if (running && started > 0) {
      return el(tag, { class: [cls, 'ticking'], 'data-since': started, title: 'running' }, fmtDuration(nowUs() - started));
    }
    const us = duration > 0 ? duration : started > 0 && ended >= started ? ended - started : -1;
    return el(tag, { class: cls }, us >= 0 ? fmtDuration(us) : '-');
  }

  const nowUs = () => Date.now() * 1000;

  // ---------------------------------------------------------------- URLs and API

  const enc = encodeURIComponent;
  const pathUrl = (path) => String(path).split('/').map(enc).join('/');
  const urls = {
    home: (query) => `/${query || ''}`,
    exec: (id) => `/e/${enc(id)}`,
    node: (id, path) => (path ? `/e/${enc(id)}/n/${pathUrl(path)}` : urls.exec(id)),
    item: (id, path, k) => `${urls.node(id, path)}/i/${enc(String(k))}`,
  };

  /** "?a=1&b=x%20y": undefined and null are left out, "" is kept (path= is the root). */
  function qs(params) {
    const parts = [];
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || value === null) continue;
      parts.push(`${enc(key)}=${enc(String(value))}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  /** GET a JSON API path; throws ApiError with .status (0: no answer). */
  async function api(path) {
    const signal = S.abort.signal;
    let res;
    try {
      res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', signal });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, `cannot reach the loom ui server (${e && e.message ? e.message : 'network error'})`);
    }
    let body = null;
    try { body = await res.json(); } catch (e) {
      if (e && e.name === 'AbortError') throw e;
    }
    if (!res.ok) {
      const text = body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, text);
    }
    if (body === null) throw new ApiError(res.status, `${path}: the answer is not JSON`);
    return body;
  }

  const execApi = (what, params) => `/api/executions/${enc(S.exec.id)}${what ? `/${what}` : ''}${qs(params || {})}`;

  // ---------------------------------------------------------------- app state

  const S = {
    page: null,          // 'list' | 'exec' | 'notfound'
    gen: 0,              // bumps on each page change: answers for an older page are dropped
    abort: new AbortController(),
    list: null,
    exec: null,
    live: false,
  };

  /** Leaves the current page: its fetches are aborted and their answers ignored. */
  function newPage(kind) {
    S.abort.abort();
    S.abort = new AbortController();
    S.gen += 1;
    S.page = kind;
    S.list = null;
    S.exec = null;
    hideBanner();
    window.scrollTo(0, 0);
  }

  const isAbort = (e) => e && e.name === 'AbortError';

  /** 404 of what the URL names is the not-found page; other failures are a banner. */
  function failed(err, gen, urlNamesIt) {
    if (isAbort(err) || gen !== S.gen) return;
    if (err && err.status === 404 && urlNamesIt) showNotFound(err.message);
    else showBanner(err);
  }

  // ---------------------------------------------------------------- banner

  function showBanner(err) {
    const b = $('error-banner');
    if (!b) return;
    const status = err && err.status;
    const text = status ? `Error ${status}: ${err.message}` : String((err && err.message) || err);
    fill(b,
      el('span', { class: 'banner-text' }, text),
      el('button', { type: 'button', class: 'banner-close', 'aria-label': 'dismiss', onclick: hideBanner }, '×'));
    b.hidden = false;
    if (err && !(err instanceof ApiError)) console.error(err);
  }

  function hideBanner() {
    const b = $('error-banner');
    if (!b) return;
    b.hidden = true;
    fill(b);
  }

  // ---------------------------------------------------------------- routing

  /** The page a location names: list, exec (with node path and item), or notfound. */
  function parseRoute(loc) {
    const { pathname, search } = loc;
    if (pathname === '/' || pathname === '') return { name: 'list', query: new URLSearchParams(search) };
    const raw = pathname.split('/').slice(1);
    if (raw.length > 2 && raw[raw.length - 1] === '') raw.pop();  // a trailing slash
    let segs;
    try { segs = raw.map((s) => decodeURIComponent(s)); } catch { segs = null; }
    if (segs && segs[0] === 'e' && segs.length >= 2 && segs[1]) {
      const id = segs[1];
      if (segs.length === 2) return { name: 'exec', id, path: '', k: null };
      if (segs[2] === 'n' && segs.length >= 4) {
        const rest = segs.slice(3);
        let k = null;
        if (rest.length >= 3 && rest[rest.length - 2] === 'i' && /^\d+$/.test(rest[rest.length - 1])) {
          k = Number(rest.pop());
          rest.pop();
        }
        if (rest.every((s) => s !== '')) return { name: 'exec', id, path: rest.join('/'), k };
      }
    }
    return { name: 'notfound', what: pathname };
  }

  function navigate(url, replace) {
    const here = location.pathname + location.search;
    if (url !== here) history[replace ? 'replaceState' : 'pushState'](null, '', url);
    route();
  }

  function route() {
    const r = parseRoute(location);
    if (r.name === 'list') showList(r);
    else if (r.name === 'exec') showExec(r);
    else showNotFound(`There is no page at ${r.what}.`);
  }

  /** Plain left clicks on local links are handled here; middle/ctrl clicks open tabs as usual. */
  function onDocumentClick(e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a');
    if (!a) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//') || a.hasAttribute('download')) return;
    const target = a.getAttribute('target');
    if (target && target !== '_self') return;
    e.preventDefault();
    navigate(href);
  }

  function setTopnav(...parts) {
    const nav = $('topnav');
    if (nav) fill(nav, ...parts.flatMap((p) => [el('span', { class: 'sep' }, '/'), p]));
  }

  // ---------------------------------------------------------------- not found

  function showNotFound(message) {
    newPage('notfound');
    document.title = 'not found · loom';
    setTopnav(el('span', null, 'not found'));
    fill($('app'), el('section', { id: 'not-found', class: 'not-found' },
      el('h1', null, 'Not found'),
      el('p', { class: 'nf-message' }, message),
      el('p', { class: 'nf-asked' }, 'You asked for ', el('code', null, location.pathname), '.'),
      el('p', null, el('a', { href: '/', class: 'home-link' }, '← All executions'))));
  }

  // ---------------------------------------------------------------- executions list

  function showList(r) {
    const status = r.query.get('status') || '';
    const workflow = r.query.get('workflow') || '';
    if (S.page !== 'list') {
      newPage('list');
      S.list = { status, workflow, count: LIST_PAGE, data: null };
      buildListPage();
    }
    S.list.status = status;
    S.list.workflow = workflow;
    S.list.count = LIST_PAGE;
    document.title = 'executions · loom';
    setTopnav(el('span', null, 'executions'));
    loadList().catch(() => {});
  }

  function buildListPage() {
    const statusSel = el('select', { id: 'status-filter', name: 'status', onchange: onFilterChange });
    const workflowSel = el('select', { id: 'workflow-filter', name: 'workflow', onchange: onFilterChange });
    const head = el('tr', null, ...[['Workflow', 'workflow'], ['Status', 'status'], ['Started', 'start'],
      ['Duration', 'duration'], ['Nodes', 'progress'], ['Failed', 'failed'], ['Backend', 'backend'], ['ID', 'id']]
      .map(([h, cls]) => el('th', { scope: 'col', class: cls }, h)));
    const table = el('table', { id: 'executions', class: 'data-table executions' },
      el('thead', null, head), el('tbody', { id: 'executions-body', onclick: onListRowClick }));
    fill($('app'), el('section', { class: 'list-page' },
      el('div', { class: 'list-head' },
        el('h1', null, 'Executions ', el('span', { id: 'executions-count', class: 'count' })),
        el('div', { class: 'filters' },
          el('label', null, 'Status ', statusSel),
          el('label', null, 'Workflow ', workflowSel))),
      table,
      el('p', { id: 'executions-empty', class: 'empty', hidden: true }, 'No executions.'),
      el('div', { class: 'list-foot' },
        el('button', { type: 'button', id: 'executions-more', class: 'more', hidden: true, onclick: onListMore }, 'Show more'))));
  }

  function onFilterChange() {
    const status = $('status-filter').value;
    const workflow = $('workflow-filter').value;
    navigate(urls.home(qs({ status: status || undefined, workflow: workflow || undefined })));
  }

  function onListRowClick(e) {
    if (e.target.closest('a')) return;  // links navigate themselves
    const tr = e.target.closest('tr[data-id]');
    if (tr) navigate(urls.exec(tr.getAttribute('data-id')));
  }

  function onListMore() {
    S.list.count = Math.min(1000, S.list.count + LIST_PAGE);
    loadList().catch(() => {});
  }

  async function loadList() {
    const gen = S.gen;
    const L = S.list;
    try {
      const data = await api(`/api/executions${qs({
        status: L.status || undefined, workflow: L.workflow || undefined, offset: 0, limit: L.count,
      })}`);
      if (gen !== S.gen) return;
      renderList(data);
    } catch (e) { failed(e, gen, false); throw e; }
  }

  /** Options of a filter select, keeping the chosen value even if the API no longer lists it. */
  function fillSelect(select, allLabel, names, chosen) {
    const values = Array.isArray(names) ? names.map(String) : [];
    if (chosen && !values.includes(chosen)) values.push(chosen);
    fill(select, el('option', { value: '' }, allLabel),
      ...values.map((v) => el('option', { value: v }, v)));
    select.value = chosen;
  }

  function renderList(data) {
    const L = S.list;
    fillSelect($('status-filter'), 'all', data.statuses, L.status);
    fillSelect($('workflow-filter'), 'all', data.workflows, L.workflow);
    const rows = Array.isArray(data.executions) ? data.executions : [];
    fill($('executions-body'), frag(rows.map(listRow)));
    const total = typeof data.total === 'number' ? data.total : rows.length;
    $('executions-count').textContent = rows.length < total ? `${fmtCount(rows.length)} of ${fmtCount(total)}` : fmtCount(total);
    $('executions-empty').hidden = rows.length > 0;
    $('executions-more').hidden = !(rows.length < total && L.count < 1000);
  }

  function listRow(x) {
    const href = urls.exec(x.id);
    return el('tr', { 'data-id': x.id, class: ['exec-row', phaseClass(x.status)] },
      el('td', { class: 'workflow' }, el('a', { href }, x.workflow || '(unnamed)')),
      el('td', { class: 'status' }, badge(x.status)),
      el('td', { class: 'start', title: isoTime(x.started_us) }, fmtTime(x.started_us)),
      durationNode('td', 'duration', x.started_us, x.ended_us, x.duration_us, x.status === 'running'),
      el('td', { class: 'progress' }, `${x.nodes_done ?? 0}/${x.nodes_total ?? 0}`),
      el('td', { class: ['failed', x.nodes_failed > 0 && 'has-failed'] }, x.nodes_failed > 0 ? String(x.nodes_failed) : ''),
      el('td', { class: 'backend' }, x.backend || ''),
      el('td', { class: 'id' }, el('a', { href, title: x.error ? firstLine(x.error) : null }, el('code', null, x.id))));
  }

  // ---------------------------------------------------------------- execution page

  function newExecState(id) {
    return {
      id,
      data: null,
      sel: { path: '', k: null },
      selToken: 0,
      detail: { data: null, sig: '' },
      crumbs: [],
      tree: { levels: new Map(), rows: new Map(), expanded: new Set(), ready: null },
      items: { path: null, phase: '', offset: 0, sig: '', box: null, token: 0 },
      item: { key: '', sig: '', token: 0, shown: '' },
      graph: { path: null, sig: '', vb: null, bounds: null, token: 0 },
      timeline: { path: null, sig: '', data: null, token: 0, drawn: 0 },
      headerSig: '',
    };
  }

  async function showExec(r) {
    if (S.page !== 'exec' || !S.exec || S.exec.id !== r.id) {
      newPage('exec');
      S.exec = newExecState(r.id);
      buildExecPage();
      const gen = S.gen;
      try {
        const data = await api(execApi(''));
        if (gen !== S.gen) return;
        S.exec.data = data;
        renderHeader(data);
      } catch (e) { failed(e, gen, true); return; }
      S.exec.tree.ready = loadTreeRoot();
    }
    applySelection(r);
  }

  function buildExecPage() {
    const toolButton = (id, label, title, onclick) => el('button', { type: 'button', id, class: 'tool', title, onclick }, label);
    fill($('app'), el('div', { class: 'exec-page' },
      el('section', { id: 'execution-header', class: 'exec-header' }, el('p', { class: 'loading' }, 'Loading…')),
      el('nav', { id: 'breadcrumbs', class: 'breadcrumbs', 'aria-label': 'node path' }),
      el('div', { class: 'exec-grid' },
        el('section', { class: 'panel tree-panel', 'aria-label': 'node tree' },
          el('header', { class: 'panel-head' },
            el('h2', null, 'Tree'),
            el('span', { id: 'tree-caption', class: 'caption' }),
            el('span', { class: 'spacer' }),
            toolButton('tree-collapse', 'Collapse all', 'collapse every expanded node', collapseAll)),
          el('div', { class: 'tree-cols', 'aria-hidden': 'true' },
            el('span', { class: 'c-name' }, 'node'), el('span', { class: 'c-task' }, 'task'),
            el('span', { class: 'c-kind' }, 'kind'), el('span', { class: 'c-phase' }, 'phase'),
            el('span', { class: 'c-att' }, 'att.'), el('span', { class: 'c-dur' }, 'duration'),
            el('span', { class: 'c-extra' }, 'items / error')),
          el('div', { id: 'tree', class: 'tree', role: 'tree', onclick: onTreeClick })),
        el('aside', { id: 'node-detail', class: 'panel node-detail', 'aria-label': 'node detail' })),
      el('section', { class: 'panel graph-panel', 'aria-label': 'graph' },
        el('header', { class: 'panel-head' },
          el('h2', null, 'Graph'),
          el('span', { id: 'graph-caption', class: 'caption' }),
          el('span', { class: 'spacer' }),
          toolButton('graph-up', '↑ Up', 'the level above', graphUp),
          toolButton('graph-zoom-out', '−', 'zoom out', () => graphZoom(1.25)),
          toolButton('graph-zoom-in', '+', 'zoom in', () => graphZoom(0.8)),
          toolButton('graph-fit', 'Fit', 'fit the level in view', graphFit)),
        el('div', { id: 'graph', class: 'graph' })),
      el('section', { class: 'panel timeline-panel', 'aria-label': 'timeline' },
        el('header', { class: 'panel-head' },
          el('h2', null, 'Timeline'),
          el('span', { id: 'timeline-caption', class: 'caption' })),
        el('div', { id: 'timeline', class: 'timeline' }))));
  }

  // ---------------------------------------------------------------- header

  function renderHeader(data) {
    const E = S.exec;
    // version changes with every store change; it alone is no reason to rebuild the header.
    const sig = JSON.stringify([data.execution, data.root, data.problems]);
    if (sig === E.headerSig) return;
    E.headerSig = sig;
    const x = data.execution || {};
    const done = x.nodes_done ?? 0;
    const total = x.nodes_total ?? 0;
    const failedN = x.nodes_failed ?? 0;
    document.title = `${x.workflow || x.id} · ${x.status} · loom`;
    setTopnav(el('a', { href: '/' }, 'executions'), el('span', null, x.workflow || ''), el('code', null, x.id || S.exec.id));

    const bar = el('div', { class: 'progress-bar', title: `${done} of ${total} nodes done, ${failedN} failed` });
    if (total > 0) {
      const ok = el('span', { class: 'pb-ok' });
      const bad = el('span', { class: 'pb-bad' });
      ok.style.width = `${(100 * Math.max(0, done - failedN)) / total}%`;
      bad.style.width = `${(100 * failedN) / total}%`;
      bar.append(ok, bad);
    }
    const fact = (label, value) => el('div', { class: 'fact' }, el('dt', null, label), el('dd', null, value));
    const problems = Array.isArray(data.problems) ? data.problems : [];
    fill($('execution-header'),
      el('div', { class: 'title-row' },
        el('h1', null, x.workflow || '(unnamed workflow)'),
        badge(x.status, { 'data-field': 'status' }),
        el('code', { class: 'exec-id', 'data-field': 'id' }, x.id || S.exec.id)),
      el('dl', { class: 'facts' },
        fact('nodes', frag(el('span', { 'data-field': 'progress' }, `${done}/${total}`), bar)),
        fact('failed', el('span', { 'data-field': 'failed', class: failedN > 0 ? 'has-failed' : null }, String(failedN))),
        fact('started', el('span', { 'data-field': 'started', title: isoTime(x.started_us) }, fmtTime(x.started_us))),
        fact('duration', durationNode('span', 'dur', x.started_us, x.ended_us, x.duration_us, x.status === 'running')),
        fact('runs', String(x.runs ?? '-')),
        fact('backend', x.backend || '-')),
      x.error ? el('details', { class: 'exec-error' }, el('summary', null, firstLine(x.error)), pre(x.error, 'error-text')) : null,
      problems.length ? el('ul', { class: 'problems' }, problems.map((p) => el('li', null, String(p)))) : null);
  }

  async function refreshHeader(gen) {
    try {
      const data = await api(execApi(''));
      if (gen !== S.gen) return;
      S.exec.data = data;
      renderHeader(data);
    } catch (e) { failed(e, gen, true); throw e; }
  }

  // ---------------------------------------------------------------- breadcrumbs

  /** Root first. The API's list when we have it for the path, else one guessed from the path. */
  function crumbsFor(path, apiCrumbs) {
    let list = Array.isArray(apiCrumbs) && apiCrumbs.length ? apiCrumbs.slice() : null;
    if (!list) {
      list = [];
      const parts = path ? path.split('/') : [];
      for (let i = 1; i <= parts.length; i++) list.push({ path: parts.slice(0, i).join('/'), id: parts[i - 1], task: '' });
    }
    if (!list.length || list[0].path !== '') list.unshift({ path: '', id: '', task: '' });
    return list;
  }

  function renderBreadcrumbs(list) {
    const E = S.exec;
    E.crumbs = list;
    const root = (E.data && E.data.execution && E.data.execution.workflow) || 'root';
    const nodes = [];
    list.forEach((c, i) => {
      if (i) nodes.push(el('span', { class: 'crumb-sep', 'aria-hidden': 'true' }, '›'));
      const last = i === list.length - 1;
      nodes.push(el('a', {
        href: urls.node(E.id, c.path), 'data-path': c.path, class: ['crumb', last && 'current'],
        'aria-current': last ? 'page' : null, title: c.task ? `${c.path || 'root'} (${c.task})` : c.path || 'root',
      }, c.path === '' ? root : c.id || c.path.split('/').pop(), c.task && c.path !== '' ? el('small', null, ` ${c.task}`) : null));
    });
    fill($('breadcrumbs'), ...nodes);
  }

  // ---------------------------------------------------------------- selection

  /** Shows node route.path (root when empty) and item route.k; everything keyed on it follows. */
  async function applySelection(r) {
    const E = S.exec;
    const gen = S.gen;
    const token = ++E.selToken;
    const pathChanged = E.sel.path !== r.path || !E.detail.data;
    E.sel = { path: r.path, k: r.k };
    markTreeSelection();
    if (pathChanged) {
      renderBreadcrumbs(crumbsFor(r.path, null));
      E.detail.sig = '';
      const box = $('node-detail');
      fill(box, el('p', { class: 'loading' }, 'Loading…'));
      box.scrollTop = 0;
    }
    let d;
    try {
      d = await loadNode(r.path);
    } catch (e) {
      if (token === E.selToken) failed(e, gen, true);
      return;
    }
    if (gen !== S.gen || token !== E.selToken) return;
    const isMap = d.node && d.node.kind === 'map';
    if (r.k !== null && !isMap) {
      showNotFound(`Node ${r.path || '(root)'} is not a map node: it has no item ${r.k}.`);
      return;
    }
    showNodeData(d);
    if (isMap) setItemsNode(d.node, r.k);
    else clearItems();
    const level = levelOf(d);
    setGraphLevel(level);
    setTimelineLevel(level);
    revealInTree(E.crumbs.map((c) => c.path).filter((p) => p !== '' && p !== r.path), r.path, token)
      .catch((e) => failed(e, gen, false));
  }

  /** The node API's answer; for the root, a stand-in from the execution if the API has none. */
  async function loadNode(path) {
    const E = S.exec;
    try {
      return await api(execApi('node', { path }));
    } catch (e) {
      if (path !== '' || isAbort(e) || !E.data || !E.data.root) throw e;
      return { node: E.data.root, breadcrumbs: [], inputs: null, outputs: null, futures: null, slurm_jobs: [], error: E.data.root.error || '' };
    }
  }

  function showNodeData(d) {
    const E = S.exec;
    E.detail.data = d;
    renderBreadcrumbs(crumbsFor(E.sel.path, d.breadcrumbs));
    renderDetail(d);
  }

  /** The graph/timeline level of a selection: the node itself if it has children, else its parent. */
  function levelOf(d) {
    const n = d.node || {};
    if (!n.path || n.child_count > 0) return n.path || '';
    const crumbs = S.exec.crumbs;
    const i = crumbs.findIndex((c) => c.path === n.path);
    if (i > 0) return crumbs[i - 1].path;
    const slash = n.path.lastIndexOf('/');
    return slash < 0 ? '' : n.path.slice(0, slash);
  }

  async function refreshSelection(gen) {
    const E = S.exec;
    const token = E.selToken;
    try {
      const d = await loadNode(E.sel.path);
      if (gen !== S.gen || token !== E.selToken) return;
      showNodeData(d);
    } catch (e) { if (token === E.selToken) failed(e, gen, true); throw e; }
  }

  // ---------------------------------------------------------------- node detail

  function renderDetail(d) {
    const E = S.exec;
    const sig = JSON.stringify(d);
    if (sig === E.detail.sig && $('node-summary')) return;
    E.detail.sig = sig;
    const n = d.node || {};
    const isRoot = !n.path;
    const title = isRoot ? (E.data && E.data.execution && E.data.execution.workflow) || 'root' : n.id;
    const field = (label, value) => (value === null || value === undefined || value === '' ? null
      : el('div', { class: 'field' }, el('dt', null, label), el('dd', null, value)));
    const items = n.items;
    const errorText = d.error || n.error;

    const summary = el('div', { id: 'node-summary', 'data-path': n.path || '' },
      el('div', { class: 'detail-title' },
        el('h2', null, title || '(root)'),
        n.task ? el('span', { class: 'task' }, n.task) : null,
        badge(n.phase, { 'data-field': 'phase' })),
      el('dl', { class: 'fields' },
        field('path', isRoot ? '(root)' : el('code', null, n.path)),
        field('kind', n.kind),
        field('attempts', n.attempts !== undefined ? String(n.attempts) : null),
        field('started', n.started_us > 0 ? fmtTime(n.started_us) : null),
        field('ended', n.ended_us > 0 ? fmtTime(n.ended_us) : null),
        field('duration', n.started_us > 0 ? durationNode('span', 'dur', n.started_us, n.ended_us, n.duration_us, n.phase === 'running') : null),
        field('children', n.child_count > 0 ? fmtCount(n.child_count) : null),
        field('items', items ? itemsText(items) : null),
        field('slurm', typeof n.slurm === 'string' ? n.slurm : null)),
      errorText ? section('Error', pre(errorText, 'error-text')) : null);
    // A map's items view sits between these two parts and survives their re-renders.
    const more = el('div', { id: 'node-more' },
      section('Inputs', jsonBlock(d.inputs)),
      section('Outputs', jsonBlock(d.outputs)),
      d.futures ? futuresSection(d.futures) : null,
      Array.isArray(d.slurm_jobs) && d.slurm_jobs.length ? section('Slurm jobs', slurmTable(d.slurm_jobs)) : null);

    const box = $('node-detail');
    const oldSummary = $('node-summary');
    const oldMore = $('node-more');
    if (oldSummary && oldMore && oldSummary.parentNode === box) {
      oldSummary.replaceWith(summary);
      oldMore.replaceWith(more);
    } else {
      fill(box, summary, E.items.box && E.items.path === n.path ? E.items.box : null, more);
    }
  }

  const section = (title, ...body) => el('section', { class: 'detail-section' }, el('h3', null, title), ...body);

  function jsonBlock(value) {
    if (value === null || value === undefined) return el('p', { class: 'muted' }, 'none recorded');
    return pre(prettyJson(value), 'json');
  }

  function itemsText(items) {
    const parts = [`${fmtCount(items.succeeded ?? 0)} succeeded`, `${fmtCount(items.failed ?? 0)} failed`];
    if (items.running !== undefined) parts.push(`${fmtCount(items.running)} running`);
    return `${parts.join(', ')} of ${fmtCount(items.length ?? 0)}`;
  }

  function futuresSection(f) {
    return section('Futures file',
      el('p', { class: 'meta' }, f.key ? el('code', null, f.key) : null, f.size !== undefined ? ` · ${fmtBytes(f.size)}` : ''),
      pre(f.text ?? '', 'futures'),
      f.truncated ? el('p', { class: 'note', 'data-field': 'futures-truncated' },
        `Truncated: showing the first ${fmtBytes(String(f.text || '').length)} of ${fmtBytes(f.size)}.`) : null);
  }

  function slurmTable(jobs) {
    const head = el('tr', null, ...['attempt/batch', 'job', 'state', 'stdout', 'stderr'].map((h) => el('th', { scope: 'col' }, h)));
    const rows = jobs.map((j) => {
      const which = j.batch !== undefined ? `batch ${j.batch}` : j.attempt !== undefined ? `attempt ${j.attempt}` : '-';
      const job = j.pilot ? `${j.pilot} on ${j.job || '?'}` : j.job || 'no job id yet';
      const state = j.exit !== undefined && j.exit !== null ? `${j.state || ''} (exit ${j.exit})` : j.state || '';
      return el('tr', null,
        el('td', null, which),
        el('td', null, el('code', null, job)),
        el('td', null, state),
        el('td', { class: 'file' }, el('code', null, j.stdout || '-')),
        el('td', { class: 'file' }, el('code', null, j.stderr || '-')));
    });
    return el('div', { class: 'table-scroll' }, el('table', { class: 'data-table slurm-jobs' }, el('thead', null, head), el('tbody', null, rows)));
  }

  // ---------------------------------------------------------------- map items

  function clearItems() {
    const I = S.exec.items;
    if (I.box) I.box.remove();
    I.path = null;
    I.box = null;
    I.sig = '';
  }

  function setItemsNode(node, k) {
    const E = S.exec;
    const I = E.items;
    const pageOf = (kk) => Math.floor(kk / ITEMS_PAGE) * ITEMS_PAGE;
    if (I.path !== node.path) {
      clearItems();
      I.path = node.path;
      I.phase = '';
      I.offset = k !== null ? pageOf(k) : 0;
      I.box = buildItemsView();
    } else if (k !== null && I.phase === '' && (k < I.offset || k >= I.offset + ITEMS_PAGE)) {
      I.offset = pageOf(k);
    }
    I.node = node;
    if (I.box.parentNode !== $('node-detail')) $('node-detail').insertBefore(I.box, $('node-more'));
    loadItems().catch(() => {});
    if (k !== null) loadItem(node.path, k).catch(() => {});
    else hideItem();
  }

  function hideItem() {
    const E = S.exec;
    E.item.token += 1;  // an item answer still on its way is for a page no longer shown
    E.item.key = '';
    E.item.shown = '';
    E.item.sig = '';
    const box = $('item-detail');
    if (box) { fill(box); box.hidden = true; }
  }

  function buildItemsView() {
    const filter = el('select', { id: 'items-filter', 'aria-label': 'phase filter', onchange: (e) => setItemsPhase(e.target.value) },
      el('option', { value: '' }, 'all items'),
      el('option', { value: 'succeeded' }, 'succeeded'),
      el('option', { value: 'failed' }, 'failed'),
      el('option', { value: 'not done' }, 'not done'));
    return el('section', { id: 'items-view', class: 'detail-section items-view' },
      el('h3', null, 'Items'),
      el('div', { id: 'item-counts', class: 'item-counts', onclick: onCountsClick }),
      el('div', { class: 'items-toolbar' },
        filter,
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', id: 'items-prev', class: 'tool', onclick: () => itemsPage(-1) }, '‹ Prev'),
        el('span', { id: 'items-page', class: 'page-ind' }),
        el('button', { type: 'button', id: 'items-next', class: 'tool', onclick: () => itemsPage(1) }, 'Next ›')),
      el('div', { id: 'items', class: 'items-grid', role: 'list' }),
      el('div', { id: 'item-detail', class: 'item-detail', hidden: true }));
  }

  function onCountsClick(e) {
    const b = e.target.closest('button[data-phase]');
    if (!b) return;
    const phase = b.getAttribute('data-phase');
    setItemsPhase(phase === 'all' || phase === S.exec.items.phase ? '' : phase);
  }

  function setItemsPhase(phase) {
    const I = S.exec.items;
    I.phase = phase;
    I.offset = 0;
    $('items-filter').value = phase;
    loadItems().catch(() => {});
  }

  function itemsPage(step) {
    const I = S.exec.items;
    I.offset = Math.max(0, I.offset + step * ITEMS_PAGE);
    loadItems().catch(() => {});
  }

  async function loadItems() {
    const E = S.exec;
    const I = E.items;
    const gen = S.gen;
    const token = ++I.token;
    const path = I.path;
    try {
      let d = await api(execApi('items', { path, offset: I.offset, limit: ITEMS_PAGE, phase: I.phase }));
      if (gen !== S.gen || token !== I.token) return;
      if (d.total > 0 && I.offset >= d.total) {  // the filter shrank below this page
        I.offset = Math.floor((d.total - 1) / ITEMS_PAGE) * ITEMS_PAGE;
        d = await api(execApi('items', { path, offset: I.offset, limit: ITEMS_PAGE, phase: I.phase }));
        if (gen !== S.gen || token !== I.token) return;
      }
      renderItems(d);
    } catch (e) {
      if (token !== I.token || isAbort(e)) throw e;
      if (e.status === 400) {  // a map node without item records: say so where the items would be
        I.sig = '';
        fill($('items'), el('p', { class: 'muted' }, e.message));
        return;
      }
      failed(e, gen, false);
      throw e;
    }
  }

  function renderItems(d) {
    const E = S.exec;
    const I = E.items;
    const sig = JSON.stringify([d, I.offset, E.sel.k, I.node && I.node.items]);
    if (sig === I.sig) return;
    I.sig = sig;
    const counts = d.counts || {};
    const count = (phase, n, label) => el('button', {
      type: 'button', class: ['count', phaseClass(phase), I.phase === phase && 'active'], 'data-phase': phase,
      title: phase === 'all' ? 'show all items' : `show ${phase} items`,
    }, el('span', { class: 'num' }, fmtCount(n ?? 0)), ` ${label}`);
    const running = I.node && I.node.items && I.node.items.running;
    fill($('item-counts'),
      count('all', d.length, 'items'),
      count('succeeded', counts.succeeded, 'succeeded'),
      count('failed', counts.failed, 'failed'),
      count('not done', counts['not done'], 'not done'),
      typeof running === 'number' ? el('span', { class: ['count', 'info', phaseClass('running')], 'data-phase': 'running' },
        el('span', { class: 'num' }, fmtCount(running)), ' running') : null);
    $('items-filter').value = I.phase;

    const list = Array.isArray(d.items) ? d.items : [];
    const selK = E.sel.k;
    fill($('items'), frag(list.map((it) => el('a', {
      href: urls.item(E.id, I.path, it.k), role: 'listitem', 'data-k': it.k,
      class: ['item', phaseClass(it.phase), it.k === selK && 'selected', it.attempts > 1 && 'retried'],
      title: `item ${it.k}: ${it.phase}${it.attempts > 1 ? `, ${it.attempts} attempts` : ''}${it.error ? `\n${firstLine(it.error)}` : ''}`,
    }, String(it.k)))));
    if (!list.length) $('items').appendChild(el('p', { class: 'muted' }, 'No items here.'));

    const total = d.total ?? 0;
    const pages = Math.max(1, Math.ceil(total / ITEMS_PAGE));
    const page = Math.floor(I.offset / ITEMS_PAGE) + 1;
    $('items-page').textContent = total
      ? `${fmtCount(I.offset + 1)}–${fmtCount(Math.min(total, I.offset + ITEMS_PAGE))} of ${fmtCount(total)} · page ${page}/${pages}`
      : '0 items';
    $('items-prev').disabled = I.offset <= 0;
    $('items-next').disabled = I.offset + ITEMS_PAGE >= total;
  }

  async function loadItem(path, k) {
    const E = S.exec;
    const gen = S.gen;
    const token = ++E.item.token;
    const key = `${path}\n${k}`;
    if (E.item.key !== key) { E.item.key = key; E.item.sig = ''; }
    const box = $('item-detail');
    try {
      const d = await api(execApi('item', { path, k }));
      if (gen !== S.gen || token !== E.item.token) return;
      renderItem(d, path, k);
    } catch (e) {
      if (token !== E.item.token) return;
      if (e && e.status === 400) {
        box.hidden = false;
        fill(box, el('p', { class: 'error-text' }, e.message));
        return;
      }
      failed(e, gen, true);
      throw e;
    }
  }

  function renderItem(d, path, k) {
    const E = S.exec;
    const sig = JSON.stringify(d);
    if (sig === E.item.sig) return;
    E.item.sig = sig;
    const box = $('item-detail');
    box.hidden = false;
    const first = E.item.shown !== E.item.key;
    E.item.shown = E.item.key;
    fill(box,
      el('div', { class: 'detail-title' },
        el('h4', null, `Item ${k}`),
        badge(d.phase, { 'data-field': 'phase' }),
        el('span', { class: 'spacer' }),
        el('a', { href: urls.node(E.id, path), class: 'close-link', title: 'close the item' }, '×')),
      el('dl', { class: 'fields' },
        el('div', { class: 'field' }, el('dt', null, 'attempts'), el('dd', { 'data-field': 'attempts' }, String(d.attempts ?? '-')))),
      d.error !== undefined && d.error !== null && d.error !== ''
        ? section('Error', pre(typeof d.error === 'string' ? d.error : prettyJson(d.error), 'error-text')) : null,
      section('Outputs', jsonBlock(d.outputs)));
    if (first) scrollWithin($('node-detail'), box, 0.1);
  }

  async function refreshItems(gen) {
    const E = S.exec;
    if (!E.items.path || gen !== S.gen) return;
    const d = E.detail.data;
    if (d && d.node && d.node.path === E.items.path) E.items.node = d.node;
    const jobs = [loadItems()];
    if (E.sel.k !== null && E.sel.path === E.items.path) jobs.push(loadItem(E.items.path, E.sel.k));
    await Promise.all(jobs);
  }

  // ---------------------------------------------------------------- tree

  function makeLevel(path, depth) {
    const list = el('div', { class: 'tree-children', role: 'group' });
    const more = el('button', { type: 'button', class: 'more', hidden: true, 'data-parent': path });
    const box = el('div', { class: 'tree-level', 'data-parent': path }, list, more);
    // Rows inherit the indent from here: one inline style per level, not per row (inline
    // styles on ten thousand rows defeat the browser's style sharing).
    box.style.setProperty('--depth', depth);
    const level = { path, depth, total: 0, children: [], list, more, box, loading: null, epoch: 0, emptyNote: null };
    S.exec.tree.levels.set(path, level);
    return level;
  }

  async function loadTreeRoot() {
    const level = makeLevel('', 0);
    fill($('tree'), level.box);
    const gen = S.gen;
    await fetchMore('', TREE_PAGE);
    if (gen === S.gen) updateTreeCaption();
  }

  function updateTreeCaption() {
    if (!S.exec) return;
    const root = S.exec.tree.levels.get('');
    const cap = $('tree-caption');
    if (root && cap) cap.textContent = `${fmtCount(root.total)} top-level node${root.total === 1 ? '' : 's'}`;
  }

  /** Loads the next page of a level's children and appends them (one DocumentFragment). */
  function fetchMore(path, limit) {
    const T = S.exec.tree;
    const level = T.levels.get(path);
    if (!level) return Promise.resolve();
    if (level.loading) return level.loading;
    const gen = S.gen;
    level.epoch += 1;
    level.more.disabled = true;
    level.loading = (async () => {
      try {
        const d = await api(execApi('children', { path, offset: level.children.length, limit }));
        if (gen !== S.gen || T.levels.get(path) !== level) return;
        level.total = d.total;
        setEmptyNote(level, false);
        const f = document.createDocumentFragment();
        for (const c of d.children || []) {
          if (T.rows.has(c.path)) continue;
          level.children.push(c);
          f.appendChild(makeTreeItem(c, level.depth));
        }
        level.list.appendChild(f);
        setEmptyNote(level, !level.children.length);
        updateTreeLive();
      } catch (e) {
        failed(e, gen, false);
      } finally {
        level.loading = null;
        level.more.disabled = false;
        updateMore(level);
      }
    })();
    return level.loading;
  }

  function setEmptyNote(level, show) {
    if (show && !level.emptyNote) {
      level.emptyNote = el('p', { class: 'muted empty' }, level.depth === 0 ? 'No nodes yet.' : 'No children yet.');
      level.list.appendChild(level.emptyNote);
    } else if (!show && level.emptyNote) {
      level.emptyNote.remove();
      level.emptyNote = null;
    }
  }

  function updateMore(level) {
    const left = level.total - level.children.length;
    level.more.hidden = left <= 0;
    level.more.textContent = left > 0
      ? `Show more (${fmtCount(level.children.length)} of ${fmtCount(level.total)} shown)` : '';
  }

  function makeTreeItem(c, depth) {
    const T = S.exec.tree;
    const row = el('div', { class: 'node', 'data-path': c.path, role: 'treeitem', 'aria-level': depth + 1 });
    const item = el('div', { class: 'tree-item' }, row);
    const rec = { item, row, depth, sig: JSON.stringify(c), summary: c };
    T.rows.set(c.path, rec);
    fillRow(rec);
    return item;
  }

  function fillRow(rec) {
    const E = S.exec;
    const c = rec.summary;
    const expanded = E.tree.expanded.has(c.path);
    const hasKids = c.child_count > 0;
    rec.row.className = ['node', phaseClass(c.phase), `kind-${String(c.kind || '').replace(/[^a-z0-9]+/gi, '-')}`,
      E.sel.path === c.path && 'selected', expanded && 'expanded'].filter(Boolean).join(' ');
    if (hasKids) rec.row.setAttribute('aria-expanded', String(expanded));
    else rec.row.removeAttribute('aria-expanded');
    rec.row.setAttribute('aria-selected', String(E.sel.path === c.path));
    // Lean on purpose: a level can have ten thousand of these rows.
    fill(rec.row,
      el('span', { class: hasKids ? 'c-name' : 'c-name leaf' },
        hasKids
          ? el('button', { type: 'button', class: 'node-toggle', 'aria-label': expanded ? 'collapse' : 'expand' }, expanded ? '▾' : '▸')
          : null,
        el('a', { class: 'node-id', href: urls.node(E.id, c.path) }, c.id || c.path),
        hasKids ? el('span', { class: 'node-count', title: 'children' }, fmtCount(c.child_count)) : null),
      el('span', { class: 'c-task node-task' }, c.task || ''),
      el('span', { class: 'c-kind node-kind' }, c.kind || ''),
      el('span', { class: 'c-phase' }, badge(c.phase, { class: 'node-phase' })),
      el('span', { class: c.attempts > 1 ? 'c-att node-attempts retried' : 'c-att node-attempts' }, c.attempts ? String(c.attempts) : ''),
      durationNode('span', 'c-dur node-duration', c.started_us, c.ended_us, c.duration_us, c.phase === 'running'),
      el('span', { class: 'c-extra' },
        c.items ? mapCounts(c.items) : null,
        c.error ? el('span', { class: 'node-error', title: c.error }, firstLine(c.error)) : null));
  }

  /** "950✓ 3✗ 12▶ / 1000" with a thin bar: a map's items in one row cell. */
  function mapCounts(items) {
    const len = items.length || 0;
    const bar = el('span', { class: 'mini-bar', 'aria-hidden': 'true' });
    if (len > 0) {
      for (const [cls, n] of [['phase-succeeded', items.succeeded], ['phase-failed', items.failed], ['phase-running', items.running]]) {
        if (!(n > 0)) continue;
        const seg = el('span', { class: cls });
        seg.style.width = `${(100 * n) / len}%`;
        bar.appendChild(seg);
      }
    }
    return el('span', { class: 'node-items', title: itemsText(items) },
      bar,
      el('span', { class: 'ic ok', 'data-phase': 'succeeded' }, `${fmtCount(items.succeeded ?? 0)}✓`),
      items.failed > 0 ? el('span', { class: 'ic bad', 'data-phase': 'failed' }, `${fmtCount(items.failed)}✗`) : null,
      items.running > 0 ? el('span', { class: 'ic run', 'data-phase': 'running' }, `${fmtCount(items.running)}▶`) : null,
      el('span', { class: 'ic len' }, `/ ${fmtCount(len)}`));
  }

  function onTreeClick(e) {
    const more = e.target.closest('button.more');
    if (more) {
      fetchMore(more.getAttribute('data-parent'), TREE_PAGE);
      return;
    }
    const row = e.target.closest('.node[data-path]');
    if (!row) return;
    const path = row.getAttribute('data-path');
    if (e.target.closest('.node-toggle')) {
      toggleNode(path);
      return;
    }
    if (e.target.closest('a')) return;  // the id link navigates itself (middle click works)
    navigate(urls.node(S.exec.id, path));
  }

  function toggleNode(path) {
    if (S.exec.tree.expanded.has(path)) collapse(path);
    else expand(path);
  }

  function expand(path) {
    const T = S.exec.tree;
    const rec = T.rows.get(path);
    if (!rec || !(rec.summary.child_count > 0)) return Promise.resolve();
    if (T.expanded.has(path) && T.levels.has(path)) return T.levels.get(path).loading || Promise.resolve();
    T.expanded.add(path);
    const level = makeLevel(path, rec.depth + 1);
    rec.item.appendChild(level.box);
    fillRow(rec);
    return fetchMore(path, TREE_PAGE);
  }

  function collapse(path) {
    const T = S.exec.tree;
    T.expanded.delete(path);
    dropLevel(path);
    const rec = T.rows.get(path);
    if (rec) fillRow(rec);
  }

  /** Forgets a level and every level below it; they are fetched again when reopened. */
  function dropLevel(path) {
    const T = S.exec.tree;
    const level = T.levels.get(path);
    if (!level) return;
    for (const c of level.children) {
      dropLevel(c.path);
      T.expanded.delete(c.path);
      T.rows.delete(c.path);
    }
    level.box.remove();
    T.levels.delete(path);
  }

  function collapseAll() {
    const T = S.exec.tree;
    const root = T.levels.get('');
    if (!root) return;
    for (const c of root.children) if (T.expanded.has(c.path)) collapse(c.path);
  }

  function markTreeSelection() {
    const E = S.exec;
    for (const row of $('tree').querySelectorAll('.node.selected')) {
      row.classList.remove('selected');
      row.setAttribute('aria-selected', 'false');
    }
    const rec = E.tree.rows.get(E.sel.path);
    if (rec) {
      rec.row.classList.add('selected');
      rec.row.setAttribute('aria-selected', 'true');
    }
  }

  /** Makes sure `path` is among the loaded children of `parent`, paging on if needed. */
  async function seekChild(parent, path) {
    const T = S.exec.tree;
    const level = T.levels.get(parent);
    if (!level) return false;
    if (level.loading) await level.loading;
    while (!T.rows.has(path) && level.children.length < level.total && T.levels.get(parent) === level) {
      const before = level.children.length;
      await fetchMore(parent, TREE_SEEK_PAGE);
      if (level.children.length === before) break;  // failed or the level shrank: give up
    }
    return T.rows.has(path);
  }

  /** Expands the ancestors of a node (fetching each level) and scrolls it into the tree's view. */
  async function revealInTree(ancestors, path, token) {
    const E = S.exec;
    const gen = S.gen;
    await E.tree.ready;
    let parent = '';
    for (const a of ancestors) {
      if (gen !== S.gen || token !== E.selToken) return;
      if (!(await seekChild(parent, a)) || gen !== S.gen) return;
      await expand(a);
      parent = a;
    }
    if (gen !== S.gen || token !== E.selToken || path === '') return;
    if (!(await seekChild(parent, path)) || gen !== S.gen || token !== E.selToken) return;
    markTreeSelection();
    scrollTreeTo(E.tree.rows.get(path).row);
  }

  /** Scrolls only the box, never the window (a click in the graph must not jump the page). */
  function scrollWithin(box, target, where = 1 / 3) {
    if (!box || !target) return;
    const b = box.getBoundingClientRect();
    const r = target.getBoundingClientRect();
    if (r.top >= b.top && r.bottom <= b.bottom) return;
    box.scrollTop += r.top - b.top - b.height * where;
  }
  const scrollTreeTo = (row) => scrollWithin($('tree'), row);

  /** Re-reads every open level (parents first) and patches rows in place. */
  async function refreshTree(gen) {
    const T = S.exec.tree;
    await T.ready;
    const levels = [...T.levels.values()].sort((a, b) => a.depth - b.depth);
    const results = await Promise.allSettled(levels.map((level) => readLevel(level, gen)));
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i];
      const res = results[i];
      if (gen !== S.gen) return;
      if (res.status === 'rejected') { failed(res.reason, gen, false); continue; }
      if (!res.value || T.levels.get(level.path) !== level || level.epoch !== res.value.epoch) continue;
      if (res.value.window) reconcileWindow(level, res.value);
      else reconcile(level, res.value.children, res.value.total);
    }
    updateTreeCaption();
    markTreeSelection();
    updateTreeLive();
  }

  /** Tree badges pulse only while few loaded rows run (see app.css). */
  function updateTreeLive() {
    let running = 0;
    for (const rec of S.exec.tree.rows.values()) if (rec.summary.phase === 'running' && ++running > FEW_PULSING) break;
    const tree = $('tree');
    if (tree) tree.classList.toggle('few-live', running <= FEW_PULSING);
  }

  async function readLevel(level, gen) {
    if (level.loading) return null;
    const epoch = level.epoch;
    const win = level.children.length > WINDOW_MIN && !level.fullNext ? visibleWindow(level) : null;
    level.fullNext = false;
    if (win) {
      const d = await api(execApi('children', { path: level.path, offset: win.offset, limit: win.limit }));
      if (gen !== S.gen) return null;
      return { window: true, offset: win.offset, children: d.children || [], total: d.total, epoch };
    }
    const want = Math.max(TREE_PAGE, level.children.length);
    const children = [];
    let total = 0;
    for (let offset = 0; offset < want; offset += API_MAX_CHILDREN) {
      const d = await api(execApi('children', { path: level.path, offset, limit: Math.min(API_MAX_CHILDREN, want - offset) }));
      if (gen !== S.gen) return null;
      total = d.total;
      const got = d.children || [];
      children.push(...got);
      if (got.length < Math.min(API_MAX_CHILDREN, want - offset)) break;
    }
    return { children, total, epoch };
  }

  /**
   * The children of a big level around what the tree box shows: a change re-reads those
   * (a few hundred rows), not all ten thousand. Rows are in document order, so their
   * positions are sorted: binary search, a handful of layout reads.
   */
  function visibleWindow(level) {
    const T = S.exec.tree;
    const box = $('tree');
    const kids = level.children;
    if (!box) return null;
    const view = box.getBoundingClientRect();
    const rowAt = (i) => T.rows.get(kids[i].path);
    const firstBelow = (y) => {  // first child whose row starts below y
      let lo = 0;
      let hi = kids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const rec = rowAt(mid);
        if (rec && rec.row.getBoundingClientRect().top > y) hi = mid; else lo = mid + 1;
      }
      return lo;
    };
    const first = Math.max(0, firstBelow(view.top) - 1);
    const last = firstBelow(view.bottom);
    const offset = Math.max(0, first - WINDOW_MARGIN);
    const limit = Math.min(API_MAX_CHILDREN, Math.max(1, last + WINDOW_MARGIN - offset));
    return { offset, limit };
  }

  function reconcileWindow(level, res) {
    const list = res.children;
    for (let i = 0; i < list.length; i++) {
      const at = res.offset + i;
      if (at >= level.children.length) break;  // past what is loaded: "show more" brings it
      if (level.children[at].path !== list[i].path) {
        // The level changed shape: read it whole on the next change, and make one now.
        level.fullNext = true;
        scheduleRefresh();
        return;
      }
      level.children[at] = list[i];
      updateRow(list[i]);
    }
    if (res.total !== level.total) {
      level.total = res.total;
      if (res.total < level.children.length) { level.fullNext = true; scheduleRefresh(); }
      updateMore(level);
    }
  }

  function reconcile(level, list, total) {
    const T = S.exec.tree;
    const keep = new Set(list.map((c) => c.path));
    for (const c of level.children) if (!keep.has(c.path)) removeTreeItem(c.path);
    const old = level.children;
    const sameOrder = old.length === list.length && list.every((c, i) => c.path === old[i].path);
    if (sameOrder) {
      for (const c of list) updateRow(c);
    } else {
      const f = document.createDocumentFragment();
      for (const c of list) {
        const rec = T.rows.get(c.path);
        if (rec) { updateRow(c); f.appendChild(rec.item); } else f.appendChild(makeTreeItem(c, level.depth));
      }
      level.list.appendChild(f);
    }
    level.children = list;
    level.total = total;
    setEmptyNote(level, !list.length);
    updateMore(level);
  }

  function updateRow(c) {
    const T = S.exec.tree;
    const rec = T.rows.get(c.path);
    if (!rec) return;
    const sig = JSON.stringify(c);
    if (sig === rec.sig) return;
    rec.sig = sig;
    rec.summary = c;
    if (!(c.child_count > 0) && T.expanded.has(c.path)) collapse(c.path);
    fillRow(rec);
  }

  function removeTreeItem(path) {
    const T = S.exec.tree;
    const rec = T.rows.get(path);
    dropLevel(path);
    T.expanded.delete(path);
    T.rows.delete(path);
    if (rec) rec.item.remove();
  }

  // ---------------------------------------------------------------- graph

  const G_NODE = { w: 156, h: 44, gx: 64, gy: 14, gxSub: 20 };
  const G_GROUP = { w: 250, h: 70, gx: 80, gy: 18, gxSub: 24 };
  const G_PAD = 24;
  const MANY_EDGES = 150;
  const G_MAX_ROWS = 30;   // a taller layer wraps into sub-columns so a wide fan-out stays on screen

  function setGraphLevel(path) {
    const G = S.exec.graph;
    if (G.path !== path) {
      G.path = path;
      G.sig = '';
      G.vb = null;
    }
    const up = $('graph-up');
    if (up) up.disabled = path === '';
    loadGraph(S.gen).catch(() => {});
  }

  async function loadGraph(gen) {
    const G = S.exec.graph;
    if (G.path === null) return;
    const token = ++G.token;
    try {
      const d = await api(execApi('graph', { path: G.path }));
      if (gen !== S.gen || token !== G.token) return;
      renderGraph(d);
    } catch (e) { if (token === G.token) failed(e, gen, false); throw e; }
  }

  /** Longest-path layering: a node's layer is one past its deepest predecessor. */
  function layerOf(keys, edges) {
    const index = new Map(keys.map((k, i) => [k, i]));
    const succ = keys.map(() => []);
    const indeg = new Array(keys.length).fill(0);
    for (const e of edges) {
      const a = index.get(e.from);
      const b = index.get(e.to);
      if (a === undefined || b === undefined || a === b) continue;
      succ[a].push(b);
      indeg[b] += 1;
    }
    const layer = new Array(keys.length).fill(0);
    const queue = [];
    indeg.forEach((d, i) => { if (d === 0) queue.push(i); });
    for (let head = 0; head < queue.length; head++) {
      const a = queue[head];
      for (const b of succ[a]) {
        layer[b] = Math.max(layer[b], layer[a] + 1);
        if (--indeg[b] === 0) queue.push(b);
      }
    }
    if (queue.length < keys.length) {  // a cycle should not happen; still draw its nodes, last
      const last = Math.max(0, ...layer) + 1;
      indeg.forEach((d, i) => { if (d > 0) layer[i] = last; });
    }
    return layer;
  }

  /** Positions of keys (x, y of the top-left corner) and the content size. */
  function layout(keys, edges, dims) {
    const layer = layerOf(keys, edges);
    const byLayer = [];
    keys.forEach((k, i) => { (byLayer[layer[i]] = byLayer[layer[i]] || []).push(k); });
    const pos = new Map();
    const cols = byLayer.map((ks) => Math.max(1, Math.ceil((ks ? ks.length : 0) / G_MAX_ROWS)));
    const rowsOf = (ks, c) => Math.ceil(ks.length / c);
    const maxRows = Math.max(1, ...byLayer.map((ks, i) => (ks ? rowsOf(ks, cols[i]) : 0)));
    const stepY = dims.h + dims.gy;
    let x = G_PAD;
    byLayer.forEach((ks, li) => {
      if (!ks) return;
      ks.sort(collator.compare);
      const rows = rowsOf(ks, cols[li]);
      const top = G_PAD + ((maxRows - rows) * stepY) / 2;
      ks.forEach((k, i) => {
        const col = Math.floor(i / rows);
        pos.set(k, { x: x + col * (dims.w + dims.gxSub), y: top + (i % rows) * stepY });
      });
      x += cols[li] * (dims.w + dims.gxSub) - dims.gxSub + dims.gx;
    });
    return { pos, width: x - dims.gx + G_PAD, height: G_PAD * 2 + maxRows * stepY - dims.gy };
  }

  function edgePath(a, b, dims) {
    const x1 = a.x + dims.w;
    const y1 = a.y + dims.h / 2;
    const x2 = b.x;
    const y2 = b.y + dims.h / 2;
    const dx = Math.max(24, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
  }

  function uniqueEdges(edges) {
    const seen = new Set();
    const out = [];
    for (const e of Array.isArray(edges) ? edges : []) {
      const key = `${e.from}\u0000${e.to}`;
      if (seen.has(key) || e.from === e.to) continue;
      seen.add(key);
      out.push(e);
    }
    return out;
  }

  function ensureGraphSvg() {
    const box = $('graph');
    let root = box.querySelector('svg.graph-svg');
    if (root) return root;
    root = svg('svg', { class: 'graph-svg', role: 'img', 'aria-label': 'graph of the level', preserveAspectRatio: 'xMinYMin meet' },
      svg('defs', null,
        svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
          svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }))),
      svg('g', { class: 'viewport' }));
    attachPanZoom(root);
    fill(box, root);
    return root;
  }

  function renderGraph(d) {
    const E = S.exec;
    const G = E.graph;
    const sig = JSON.stringify([d, E.sel.path]);
    if (sig === G.sig) return;
    G.sig = sig;
    const grouped = Array.isArray(d.groups);
    const count = grouped ? d.groups.length : (d.nodes || []).length;
    $('graph-caption').textContent = `${G.path ? `in ${G.path}` : 'top level'} · ${fmtCount(d.total ?? count)} node${d.total === 1 ? '' : 's'}`
      + (grouped ? ` in ${fmtCount(d.groups.length)} groups by task` : '');
    if (!count) {
      fill($('graph'), el('p', { class: 'muted empty' }, 'No nodes at this level.'));
      G.vb = null;
      return;
    }
    const root = ensureGraphSvg();
    const drawn = grouped ? drawGroups(d) : drawNodes(d);
    fill(root.querySelector('g.viewport'), drawn.edges, drawn.nodes);
    G.bounds = { w: drawn.width, h: drawn.height };
    if (!G.vb) {
      const h = Math.max(180, Math.min(520, drawn.height + 8));
      root.style.height = `${h}px`;
      graphFit();
    } else applyViewBox();
  }

  function drawNodes(d) {
    const E = S.exec;
    const nodes = d.nodes || [];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const edges = uniqueEdges(d.edges).filter((e) => byId.has(e.from) && byId.has(e.to));
    const L = layout(nodes.map((n) => n.id), edges, G_NODE);
    const sel = E.sel.path;
    const selId = (nodes.find((n) => n.path === sel) || {}).id;

    // Many edges: lighter and without arrowheads (they only add ink); thousands: one path.
    const many = edges.length > MANY_EDGES;
    const edgeLayer = svg('g', { class: many ? 'edges many' : 'edges' });
    if (edges.length > 1500) {
      edgeLayer.appendChild(svg('path', { class: 'edge', d: edges.map((e) => edgePath(L.pos.get(e.from), L.pos.get(e.to), G_NODE)).join(' ') }));
    } else {
      for (const e of edges) {
        edgeLayer.appendChild(svg('path', {
          class: ['edge', selId !== undefined && (e.from === selId || e.to === selId) && 'sel'],
          d: edgePath(L.pos.get(e.from), L.pos.get(e.to), G_NODE), 'marker-end': many ? null : 'url(#arrow)',
        }));
      }
    }

    const nodeLayer = svg('g', { class: 'nodes' });
    for (const n of nodes) {
      const p = L.pos.get(n.id);
      const kids = n.child_count > 0;
      const g = svg('g', {
        class: ['gnode', phaseClass(n.phase), `kind-${String(n.kind || '').replace(/[^a-z0-9]+/gi, '-')}`, kids && 'has-children', n.path === sel && 'selected'],
        'data-path': n.path, transform: `translate(${p.x},${p.y})`,
      },
      svg('title', null, `${n.id} · ${n.task} · ${n.kind} · ${n.phase}${kids ? ` · ${n.child_count} children (click to open)` : ''}${n.error ? `\n${firstLine(n.error)}` : ''}`),
      svg('rect', { class: 'gbox', width: G_NODE.w, height: G_NODE.h, rx: 7, ry: 7 }),
      svg('text', { class: 'gid', x: 10, y: 18 }, clip(String(n.id), kids ? 14 : 19)),
      svg('text', { class: 'gtask', x: 10, y: 34 }, clip(String(n.task || n.kind || ''), 24)),
      kids ? svg('text', { class: 'gkids', x: G_NODE.w - 9, y: 18, 'text-anchor': 'end' }, `▸ ${fmtCount(n.child_count)}`) : null,
      n.phase === 'running' ? svg('circle', { class: 'grun', cx: G_NODE.w - 12, cy: 32, r: 3.5 }) : null,
      n.items ? graphItemsBar(n.items) : null);
      nodeLayer.appendChild(svg('a', { href: urls.node(E.id, n.path), class: 'glink' }, g));
    }
    return { edges: edgeLayer, nodes: nodeLayer, width: L.width, height: L.height };
  }

  function graphItemsBar(items) {
    const len = items.length || 0;
    const w = G_NODE.w - 20;
    const g = svg('g', { class: 'gitems', transform: `translate(10,${G_NODE.h - 6})` },
      svg('rect', { class: 'gbar-bg', width: w, height: 3 }));
    let x = 0;
    for (const [phase, n] of [['succeeded', items.succeeded], ['failed', items.failed], ['running', items.running]]) {
      if (!(n > 0) || !len) continue;
      const bw = (w * n) / len;
      g.appendChild(svg('rect', { class: ['gbar', phaseClass(phase)], x, width: bw, height: 3 }));
      x += bw;
    }
    return g;
  }

  const PHASE_ORDER = ['succeeded', 'cached', 'failed', 'running', 'aborted', 'skipped', 'not started'];

  function drawGroups(d) {
    const E = S.exec;
    const groups = d.groups;
    const byTask = new Map(groups.map((g) => [g.task, g]));
    const edges = uniqueEdges(d.edges).filter((e) => byTask.has(e.from) && byTask.has(e.to));
    const L = layout(groups.map((g) => g.task), edges, G_GROUP);
    const edgeLayer = svg('g', { class: 'edges' },
      edges.map((e) => svg('path', { class: 'edge', d: edgePath(L.pos.get(e.from), L.pos.get(e.to), G_GROUP), 'marker-end': 'url(#arrow)' })));
    const nodeLayer = svg('g', { class: 'nodes' });
    for (const grp of groups) {
      const p = L.pos.get(grp.task);
      const phases = grp.phases || {};
      const names = Object.keys(phases).sort((a, b) => {
        const ia = PHASE_ORDER.indexOf(a);
        const ib = PHASE_ORDER.indexOf(b);
        return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
      });
      const barW = G_GROUP.w - 20;
      const bar = svg('g', { class: 'gphases', transform: `translate(10,${G_GROUP.h - 16})` },
        svg('rect', { class: 'gbar-bg', width: barW, height: 8, rx: 2 }));
      let x = 0;
      const total = grp.count || names.reduce((s, k) => s + (phases[k] || 0), 0) || 1;
      for (const name of names) {
        const n = phases[name] || 0;
        if (n <= 0) continue;
        const w = (barW * n) / total;
        bar.appendChild(svg('rect', { class: ['gbar', phaseClass(name)], x, width: w, height: 8 }, svg('title', null, `${name}: ${fmtCount(n)}`)));
        x += w;
      }
      const urgent = ['failed', 'running', 'succeeded', 'cached', 'aborted', 'not started', 'skipped'];
      const rank = (k) => (urgent.indexOf(k) < 0 ? 99 : urgent.indexOf(k));
      const summary = names.filter((k) => phases[k] > 0).sort((a, b) => rank(a) - rank(b))
        .map((k) => `${fmtCount(phases[k])} ${k}`).join(' · ');
      // The box's colour: running while any runs, else failed if any failed, else the most common phase.
      const common = names.reduce((best, k) => ((phases[k] || 0) > (phases[best] || 0) ? k : best), names[0] || 'not started');
      const worst = phases.running > 0 ? 'running' : phases.failed > 0 ? 'failed' : common;
      const g = svg('g', {
        class: ['ggroup', phaseClass(worst), `kind-${String(grp.kind || '').replace(/[^a-z0-9]+/gi, '-')}`],
        'data-task': grp.task, transform: `translate(${p.x},${p.y})`,
      },
      svg('title', null, `${grp.task} × ${grp.count} (${grp.kind})\n${summary}${grp.sample ? `\nclick: open ${grp.sample}` : ''}`),
      svg('rect', { class: 'gbox', width: G_GROUP.w, height: G_GROUP.h, rx: 8, ry: 8 }),
      svg('text', { class: 'gid', x: 10, y: 19 }, clip(`${grp.task} × ${fmtCount(grp.count)}`, 34)),
      svg('text', { class: 'gtask', x: 10, y: 35 }, clip(summary || grp.kind || '', 42)),
      bar);
      nodeLayer.appendChild(grp.sample ? svg('a', { href: urls.node(E.id, grp.sample), class: 'glink' }, g) : g);
    }
    return { edges: edgeLayer, nodes: nodeLayer, width: L.width, height: L.height };
  }

  function graphUp() {
    const E = S.exec;
    const G = E.graph;
    if (!G.path) return;
    const i = E.crumbs.findIndex((c) => c.path === G.path);
    let parent;
    if (i > 0) parent = E.crumbs[i - 1].path;
    else parent = G.path.includes('/') ? G.path.slice(0, G.path.lastIndexOf('/')) : '';
    navigate(urls.node(E.id, parent));
  }

  // -- pan and zoom: the viewBox moves; nothing is redrawn.

  function graphSize(root) {
    return { w: root.clientWidth || 960, h: root.clientHeight || 400 };
  }

  function applyViewBox() {
    const G = S.exec && S.exec.graph;
    const root = $('graph') && $('graph').querySelector('svg.graph-svg');
    if (!G || !G.vb || !root) return;
    const { w, h } = graphSize(root);
    G.vb.h = (G.vb.w * h) / w;  // keep the aspect of the box so the mapping stays uniform
    root.setAttribute('viewBox', `${G.vb.x} ${G.vb.y} ${G.vb.w} ${G.vb.h}`);
  }

  function graphFit() {
    const G = S.exec && S.exec.graph;
    const root = $('graph') && $('graph').querySelector('svg.graph-svg');
    if (!G || !G.bounds || !root) return;
    const { w, h } = graphSize(root);
    // Fit, but never so small that labels are unreadable: past that, start at the top-left.
    const scale = Math.max(0.45, Math.min(1.2, w / G.bounds.w, h / G.bounds.h));
    const vw = w / scale;
    const vh = h / scale;
    G.vb = {
      x: G.bounds.w < vw ? (G.bounds.w - vw) / 2 : 0,
      y: G.bounds.h < vh ? (G.bounds.h - vh) / 2 : 0,
      w: vw, h: vh,
    };
    applyViewBox();
  }

  function graphZoom(factor, at) {
    const G = S.exec && S.exec.graph;
    const root = $('graph') && $('graph').querySelector('svg.graph-svg');
    if (!G || !G.vb || !root) return;
    const { w } = graphSize(root);
    const scale = w / (G.vb.w * factor);
    if (scale < 0.05 || scale > 5) return;
    const p = at || { x: G.vb.x + G.vb.w / 2, y: G.vb.y + G.vb.h / 2 };
    G.vb.x = p.x - (p.x - G.vb.x) * factor;
    G.vb.y = p.y - (p.y - G.vb.y) * factor;
    G.vb.w *= factor;
    applyViewBox();
  }

  function attachPanZoom(root) {
    let drag = null;
    let moved = false;
    const toView = (e) => {
      const G = S.exec.graph;
      const r = root.getBoundingClientRect();
      return { x: G.vb.x + ((e.clientX - r.left) * G.vb.w) / r.width, y: G.vb.y + ((e.clientY - r.top) * G.vb.h) / r.height };
    };
    root.addEventListener('wheel', (e) => {
      if (!S.exec || !S.exec.graph.vb) return;
      e.preventDefault();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      graphZoom(Math.exp(Math.max(-100, Math.min(100, delta)) * 0.002), toView(e));
    }, { passive: false });
    root.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || !S.exec || !S.exec.graph.vb) return;
      drag = { x: e.clientX, y: e.clientY, vb: { ...S.exec.graph.vb }, id: e.pointerId };
      moved = false;
    });
    root.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!moved && Math.hypot(dx, dy) < 4) return;
      if (!moved) {
        moved = true;
        root.classList.add('panning');
        try { root.setPointerCapture(drag.id); } catch { /* already released */ }
      }
      const G = S.exec.graph;
      const k = G.vb.w / (root.clientWidth || 1);
      G.vb.x = drag.vb.x - dx * k;
      G.vb.y = drag.vb.y - dy * k;
      applyViewBox();
    });
    const end = () => { drag = null; root.classList.remove('panning'); };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    // A drag must not end as a click on the node under the pointer.
    root.addEventListener('click', (e) => {
      if (moved) { e.preventDefault(); e.stopPropagation(); moved = false; }
    }, true);
    root.addEventListener('dragstart', (e) => e.preventDefault());
  }

  // ---------------------------------------------------------------- timeline

  function setTimelineLevel(path) {
    const TL = S.exec.timeline;
    if (TL.path !== path) {
      TL.path = path;
      TL.sig = '';
      TL.data = null;
    }
    loadTimeline(S.gen).catch(() => {});
  }

  async function loadTimeline(gen) {
    const TL = S.exec.timeline;
    if (TL.path === null) return;
    const token = ++TL.token;
    try {
      const d = await api(execApi('timeline', { path: TL.path, limit: TIMELINE_ROWS }));
      if (gen !== S.gen || token !== TL.token) return;
      const sig = JSON.stringify([d, S.exec.sel.path]);
      const running = (d.nodes || []).some((n) => n.phase === 'running');
      // Running bars grow with the clock, but redrawing hundreds of rows on every change
      // costs more than it shows: unchanged data is redrawn every few seconds only.
      if (sig === TL.sig && (!running || Date.now() - TL.drawn < TIMELINE_REDRAW_MS)) return;
      TL.sig = sig;
      TL.data = d;
      TL.drawn = Date.now();
      renderTimeline(d);
    } catch (e) { if (token === TL.token) failed(e, gen, false); throw e; }
  }

  /** Tick spacing in microseconds: 1-2-5 steps, then clock-friendly ones past a second. */
  function tickStep(span, px) {
    const raw = span / Math.max(1, px / 90);
    const clock = [1e6, 2e6, 5e6, 10e6, 15e6, 30e6, 60e6, 120e6, 300e6, 600e6, 900e6, 1800e6, 3600e6, 7200e6, 14400e6, 21600e6, 43200e6, 86400e6];
    if (raw >= 1e6) {
      const c = clock.find((s) => s >= raw);
      if (c) return c;
    }
    const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function renderTimeline(d) {
    const E = S.exec;
    const box = $('timeline');
    const all = Array.isArray(d.nodes) ? d.nodes : [];
    const rows = all.slice(0, TIMELINE_ROWS);
    const total = typeof d.total === 'number' ? d.total : all.length;
    const cap = $('timeline-caption');
    if (!rows.length) {
      cap.textContent = 'nothing started yet';
      fill(box, el('p', { class: 'muted empty' }, 'No node under this level has started.'));
      return;
    }
    const now = nowUs();
    const starts = rows.map((n) => n.started_us).filter((v) => v > 0);
    const t0 = d.start_us > 0 ? Math.min(d.start_us, ...starts) : Math.min(...starts);
    const endOf = (n) => (n.ended_us > 0 ? n.ended_us : n.phase === 'running' ? now : n.started_us);
    let t1 = d.end_us > 0 ? d.end_us : 0;
    for (const n of rows) t1 = Math.max(t1, endOf(n));
    const span = Math.max(1000, t1 - t0);
    cap.textContent = `${total > rows.length ? `first ${fmtCount(rows.length)} of ${fmtCount(total)}` : `${fmtCount(total)}`} node${total === 1 ? '' : 's'}`
      + ` under ${TLlabel()} · from ${fmtTime(t0)} · ${fmtDuration(span)}`;

    const width = Math.max(480, (box.clientWidth || 960) - 2);
    const labelW = Math.min(280, Math.round(width * 0.28));
    const plotW = width - labelW - 16;
    const x = (t) => labelW + ((t - t0) / span) * plotW;
    const step = tickStep(span, plotW);
    const ticks = [];
    for (let t = 0; t <= span + 1; t += step) ticks.push(t);
    const rowH = 18;

    const axis = svg('svg', { class: 'tl-axis', width, height: 22, viewBox: `0 0 ${width} 22` },
      ticks.map((t) => svg('g', { transform: `translate(${x(t0 + t)},0)` },
        svg('line', { class: 'tick', y1: 16, y2: 22 }),
        svg('text', { class: 'tick-label', y: 12, 'text-anchor': x(t0 + t) > width - 40 ? 'end' : 'middle' },
          t === 0 ? '0' : `+${fmtDuration(t)}`))));

    const height = rows.length * rowH + 4;
    const body = svg('svg', { class: 'tl-rows', width, height, viewBox: `0 0 ${width} ${height}` },
      svg('g', { class: 'grid' }, ticks.map((t) => svg('line', { x1: x(t0 + t), x2: x(t0 + t), y1: 0, y2: height }))));
    const chars = Math.max(8, Math.floor((labelW - 12) / 6.4));
    rows.forEach((n, i) => {
      const y = i * rowH + 2;
      const start = n.started_us > 0 ? n.started_us : t0;
      const end = Math.max(start, endOf(n));
      const bx = x(start);
      const bw = Math.max(2, x(end) - bx);
      const running = n.phase === 'running';
      const label = n.path.length > chars ? `…${n.path.slice(n.path.length - chars + 1)}` : n.path;
      body.appendChild(svg('a', { href: urls.node(E.id, n.path), class: 'tl-link' },
        svg('g', { class: ['tl-row', phaseClass(n.phase), running && 'live', n.path === E.sel.path && 'selected'], 'data-path': n.path },
          svg('title', null, `${n.path} · ${n.task} · ${n.phase} · ${fmtDuration(end - start)}${running ? ' so far' : ''}`),
          svg('rect', { class: 'tl-hit', x: 0, y: y - 1, width, height: rowH }),
          svg('text', { class: 'tl-label', x: 6, y: y + 12 }, label),
          svg('rect', { class: 'tl-bar', x: bx, y: y + 2, width: bw, height: rowH - 6, rx: 2, ry: 2 }))));
    });
    fill(box, axis, el('div', { class: 'tl-scroll' }, body),
      total > rows.length ? el('p', { class: 'note' }, `Showing the first ${fmtCount(rows.length)} of ${fmtCount(total)} nodes by start time.`) : null);
  }

  const TLlabel = () => (S.exec.timeline.path ? S.exec.timeline.path : 'the execution');

  // ---------------------------------------------------------------- live updates

  let refreshTimer = null;
  let refreshing = false;
  let refreshAgain = false;

  function scheduleRefresh() {
    if (refreshTimer !== null) return;  // a throttle, not a debounce: steady changes still refresh
    refreshTimer = setTimeout(runRefresh, REFRESH_DELAY_MS);
  }

  async function runRefresh() {
    refreshTimer = null;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      await refreshPage();
    } finally {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; scheduleRefresh(); }
    }
  }

  /** Re-reads what the page shows; a refresh that fully worked clears an old error banner. */
  async function refreshPage() {
    const gen = S.gen;
    const jobs = [];
    if (S.page === 'list' && S.list) jobs.push(loadList());
    else if (S.page === 'exec' && S.exec && S.exec.data) {
      jobs.push(refreshHeader(gen), refreshTree(gen), refreshSelection(gen), refreshItems(gen),
        loadGraph(gen), loadTimeline(gen));
    } else return;
    const results = await Promise.allSettled(jobs);
    if (gen === S.gen && results.every((r) => r.status === 'fulfilled')) hideBanner();
  }

  function setLive(on) {
    S.live = on;
    const dot = $('live');
    if (!dot) return;
    dot.className = on ? 'on' : 'off';
    dot.textContent = on ? 'live' : 'offline';
    dot.title = on ? 'live: the page follows the store' : 'not connected: reconnecting';
  }

  function connectEvents() {
    if (typeof EventSource === 'undefined') { setLive(false); return; }
    let opened = false;
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => {
      setLive(true);
      if (opened || S.everLive) scheduleRefresh();  // changes may have been missed while away
      opened = true;
      S.everLive = true;
    });
    es.addEventListener('change', scheduleRefresh);
    es.addEventListener('error', () => {
      setLive(false);
      // EventSource retries by itself, except after an answer that is not a stream
      // (the 17th stream's 503): then try again later ourselves.
      if (es.readyState === EventSource.CLOSED) setTimeout(connectEvents, 5000);
    });
  }

  // Running durations count up between changes.
  function tick() {
    const now = nowUs();
    for (const node of document.querySelectorAll('.ticking[data-since]')) {
      const since = Number(node.getAttribute('data-since'));
      if (since > 0) node.textContent = fmtDuration(now - since);
    }
  }

  // ---------------------------------------------------------------- start

  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (S.page !== 'exec' || !S.exec) return;
      applyViewBox();
      if (S.exec.timeline.data) renderTimeline(S.exec.timeline.data);
    }, 150);
  }

  function start() {
    document.addEventListener('click', onDocumentClick);
    window.addEventListener('popstate', route);
    window.addEventListener('resize', onResize);
    setInterval(tick, 1000);
    connectEvents();
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
