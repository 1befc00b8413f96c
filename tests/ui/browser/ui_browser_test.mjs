// tests/ui/browser/ui_browser_test.mjs — `loom ui` in a real browser: Debian's chromium,
// headless, driven by puppeteer-core (no browser download), against the real `loom`
// program serving stores recorded by real workflow binaries.
//
//   node ui_browser_test.mjs CASE      (CASE: one of the names in `cases` below; CTest
//                                       runs each as "ui browser: CASE")
//
// Environment (set by tests/CMakeLists.txt): LOOM_TOOL (the loom program),
// LOOM_RESUME_TASKS, LOOM_PROCESS_TASKS, LOOM_MERGE_SORT (workflow binaries),
// LOOM_CHROMIUM (default /usr/bin/chromium), LOOM_UI_SCREENSHOTS (a directory: the
// cases save screenshots of the pages they show there; docs/ui/ holds the committed ones).
// Each case records what it needs in a scratch store, starts `loom ui --port 0` on it,
// and fails on any page error, failed request of the page's own or CSP violation.
import puppeteer from 'puppeteer-core';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const TOOL = env.LOOM_TOOL;
const RESUME_TASKS = env.LOOM_RESUME_TASKS;
const PROCESS_TASKS = env.LOOM_PROCESS_TASKS;
const MERGE_SORT = env.LOOM_MERGE_SORT;
const CHROMIUM = env.LOOM_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOTS = env.LOOM_UI_SCREENSHOTS || '';

class TestFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new TestFailure(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- Stores ----

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-ui-browser-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const storeDir = path.join(scratch, 'store');

/// Records execution `id` with `binary run ARGS` in the store; `expected` its exit code.
function record(id, binary, args, { expected = 0, extraEnv = {} } = {}) {
  const r = spawnSync(binary, ['run', ...args, '--store', storeDir, '--execution-id', id, '--threads', '2', '--quiet'], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  check(r.status === expected, `${id}: ${binary} exited ${r.status} (expected ${expected}): ${r.stderr}`);
}

/// Starts recording in the background: the child process.
function recordInBackground(id, binary, args, extraEnv = {}) {
  return spawn(binary, ['run', ...args, '--store', storeDir, '--execution-id', id, '--threads', '2', '--quiet'], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/// Every file of the store with a hash of its bytes.
function snapshot(dir) {
  const files = {};
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) files[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return files;
}

// ---- loom ui ----

/// `loom ui --store STORE --port 0`, its port read from the first line it prints.
async function startUi() {
  const child = spawn(TOOL, ['ui', '--store', storeDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const started = Date.now();
  while (!/http:\/\/[^:]+:(\d+)\//.test(out)) {
    check(child.exitCode === null, `loom ui exited ${child.exitCode}: ${err}`);
    check(Date.now() - started < 20000, `loom ui printed no address: ${out} ${err}`);
    await sleep(20);
  }
  const port = Number(/http:\/\/[^:]+:(\d+)\//.exec(out)[1]);
  const ended = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    /// SIGTERM: its exit code (0 expected) within 5 s.
    async stop() {
      child.kill('SIGTERM');
      const timer = sleep(5000).then(() => ({ code: 'timeout' }));
      const result = await Promise.race([ended, timer]);
      if (result.code === 'timeout') child.kill('SIGKILL');
      return result.code;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/// A plain HTTP request (not the browser's): status, headers and body.
function request(port, pathname, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function api(ui, pathname) {
  const r = await request(ui.port, pathname);
  check(r.status === 200, `${pathname}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

// ---- The browser ----

/// Runs `body(page)` in a fresh headless chromium; any page error, CSP violation or
/// failed request of the page's own fails the case.
async function inBrowser(ui, body) {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--no-proxy-server', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    defaultViewport: { width: 1280, height: 800 },
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      const text = m.text();
      if (/Content.Security.Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
      else if (m.type() === 'error' && !/status of 404|status of 503/.test(text)) problems.push(`console error: ${text}`);
    });
    page.on('requestfailed', (r) => {
      // A request the page gave up (it navigated, or the test did) is not a failure; an
      // event stream cut when the page goes is not either.
      const why = r.failure()?.errorText || '';
      if (!r.url().endsWith('/api/events') && why !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${why}`);
    });
    await body(page);
    check(problems.length === 0, problems.join('\n'));
  } finally {
    await browser.close();
  }
}

async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await sleep(300);  // the last update painted
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent.trim());
const count = (page, selector) => page.$$eval(selector, (list) => list.length);
async function clickNode(page, nodePath) {
  await page.click(`#tree .node[data-path="${nodePath}"] a.node-id`);
}
async function expand(page, nodePath) {
  await page.waitForSelector(`#tree .node[data-path="${nodePath}"] .node-toggle`);
  await page.click(`#tree .node[data-path="${nodePath}"] .node-toggle`);
}

// ---- The cases ----

const cases = {
  // The executions list shows real runs, newest first, and filters by status.
  async 'executions list'() {
    record('chains', RESUME_TASKS, ['chains', '--count', '2', '--length', '3']);
    record('boom', PROCESS_TASKS, ['fail_with', '--i0', 'boom'], { expected: 1 });
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        await page.goto(`${ui.base}/`);
        await page.waitForSelector('#executions tr[data-id="chains"]');
        await page.waitForSelector('#executions tr[data-id="boom"]');
        const ids = await page.$$eval('#executions tr[data-id]', (rows) => rows.map((r) => r.dataset.id));
        check(ids.join(',') === 'boom,chains', `rows ${ids} (newest first: boom, chains)`);
        check((await text(page, 'tr[data-id="chains"] td.progress')) === '8/8', 'chains: 8/8 nodes');
        check((await text(page, 'tr[data-id="chains"] td.status')).includes('succeeded'), 'chains succeeded');
        check((await text(page, 'tr[data-id="boom"] td.status')).includes('failed'), 'boom failed');
        await screenshot(page, 'executions.png');
        await page.select('#status-filter', 'failed');
        await page.waitForFunction(() => document.querySelectorAll('#executions tr[data-id]').length === 1);
        check((await count(page, '#executions tr[data-id="boom"]')) === 1, 'the filter keeps boom');
        check(page.url().includes('status=failed'), `the filter is in the URL: ${page.url()}`);
        await page.click('#executions tr[data-id="boom"] td.workflow a');
        await page.waitForSelector('#execution-header');
        check(new URL(page.url()).pathname === '/e/boom', `the row links to /e/boom: ${page.url()}`);
      });
    } finally {
      ui.kill();
    }
  },

  // A running execution's page follows the store: each new count of done nodes is on
  // the page within 1 s of the server having it.
  async 'a running execution updates within 1 s'() {
    fs.mkdirSync(storeDir, { recursive: true });  // the server is there before the run
    const ui = await startUi();
    let run = null;
    try {
      await inBrowser(ui, async (page) => {
        // The browser is up before the run starts (on a loaded machine Chromium's start
        // took longer than the run: the page then saw one change, the last).
        await page.goto(`${ui.base}/`);
        run = recordInBackground('live', RESUME_TASKS, ['chains', '--count', '1', '--length', '12'], {
          LOOM_TEST_TASK_US: '400000',
        });
        // The execution exists once its first rows are written.
        const started = Date.now();
        while ((await request(ui.port, '/api/executions/live')).status !== 200) {
          check(Date.now() - started < 20000, 'the run never appeared in the store');
          await sleep(50);
        }
        await page.goto(`${ui.base}/e/live`);
        await page.waitForSelector('#execution-header [data-field=progress]');
        let seen = '';
        let verified = 0;
        while (run.exitCode === null || verified === 0) {
          const e = (await api(ui, '/api/executions/live')).execution;
          const progress = `${e.nodes_done}/${e.nodes_total}`;
          if (progress !== seen) {
            seen = progress;
            const at = Date.now();
            try {
              await page.waitForFunction(
                (want) => document.querySelector('#execution-header [data-field=progress]')?.textContent.trim() === want,
                { timeout: 1000, polling: 20 },
                progress,
              );
            } catch {
              const shown = await text(page, '#execution-header [data-field=progress]');
              // The store may have moved on again meanwhile: then the page must show that.
              const now = (await api(ui, '/api/executions/live')).execution;
              const latest = `${now.nodes_done}/${now.nodes_total}`;
              check(shown === latest, `the page shows ${shown} ${Date.now() - at} ms after the server had ${progress} (now ${latest})`);
            }
            verified += 1;
            if (e.status !== 'running') break;
          }
          await sleep(50);
        }
        check(verified >= 5, `only ${verified} changes seen`);
        await page.waitForFunction(
          () => document.querySelector('#execution-header [data-field=status]')?.textContent.includes('succeeded'),
          { timeout: 3000 },
        );
      });
    } finally {
      run?.kill('SIGKILL');
      ui.kill();
    }
  },

  // A dynamic node expands to its sub-DAG (fetched on expand); a node shows its
  // inputs and outputs.
  async 'a dynamic node expands to its sub-DAG'() {
    record('chains', RESUME_TASKS, ['chains', '--count', '2', '--length', '3']);
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        await page.goto(`${ui.base}/e/chains`);
        await page.waitForSelector('#tree .node[data-path="n0"]');
        check((await count(page, '#tree .node[data-path^="n0/"]')) === 0, 'the sub-DAG is not loaded before it is expanded');
        await expand(page, 'n0');
        await page.waitForSelector('#tree .node[data-path="n0/dn6"]');
        check((await count(page, '#tree .node[data-path^="n0/"]')) === 7, 'n0 has 7 nodes');
        await clickNode(page, 'n0/dn2');
        await page.waitForSelector('#node-summary[data-path="n0/dn2"]');
        check(new URL(page.url()).pathname === '/e/chains/n/n0/dn2', `the URL names the node: ${page.url()}`);
        await page.waitForFunction(() => [...document.querySelectorAll('#node-detail pre.json')].some((p) => p.textContent.includes('o0')));
        await page.waitForSelector('#graph svg g.gnode[data-path="n0/dn2"]');
        check((await count(page, '#graph svg g.gnode')) === 7, 'the graph shows the level of 7');
        check((await count(page, '#graph svg path.edge')) === 6, 'and its 6 edges');
        await screenshot(page, 'execution.png');
      });
    } finally {
      ui.kill();
    }
  },

  // The seed's recursive merge_sort: three levels down by expanding, back up by the
  // breadcrumbs, and a deep link five levels down.
  async 'merge_sort navigates 3 levels'() {
    record('ms', MERGE_SORT, ['merge_sort', '--numbers', '[9,3,7,1,8,2,6,4,5,0,11,10,15,13,12,14]', '--threshold', '2']);
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        await page.goto(`${ui.base}/e/ms`);
        for (const level of ['n0', 'n0/dn0', 'n0/dn0/dn1']) {
          await expand(page, level);
        }
        await page.waitForSelector('#tree .node[data-path="n0/dn0/dn1/dn0"]');
        await clickNode(page, 'n0/dn0/dn1/dn0');
        await page.waitForSelector('#node-summary[data-path="n0/dn0/dn1/dn0"]');
        const crumbs = await page.$$eval('#breadcrumbs a[data-path]', (list) => list.map((a) => a.dataset.path));
        check(JSON.stringify(crumbs) === JSON.stringify(['', 'n0', 'n0/dn0', 'n0/dn0/dn1', 'n0/dn0/dn1/dn0']), `breadcrumbs ${crumbs}`);
        await screenshot(page, 'merge_sort.png');
        await page.click('#breadcrumbs a[data-path="n0"]');
        await page.waitForFunction(() => location.pathname === '/e/ms/n/n0');
        const deep = 'n0/dn0/dn1/dn0/dn1/dn0';
        await page.goto(`${ui.base}/e/ms/n/${deep}`);
        await page.waitForSelector(`#tree .node[data-path="${deep}"].selected`, { timeout: 5000 });
        await page.waitForSelector(`#node-summary[data-path="${deep}"]`);
      });
    } finally {
      ui.kill();
    }
  },

  // A dynamic workflow of 10,001 nodes: its page is usable within 3 s (the level pages
  // in, the graph draws groups, a node opens).
  async 'a 10,000-node dynamic run is interactive within 3 s'() {
    record('big', RESUME_TASKS, ['chains', '--count', '10000', '--length', '1']);
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        const start = Date.now();
        await page.goto(`${ui.base}/e/big`);
        await expand(page, 'n0');
        await page.waitForSelector('#tree .node[data-path="n0/dn42"]');
        await clickNode(page, 'n0/dn42');
        await page.waitForSelector('#node-summary[data-path="n0/dn42"]');
        await page.waitForSelector('#graph svg g.ggroup[data-task="link"]');
        const elapsed = Date.now() - start;
        check(elapsed < 3000, `interactive after ${elapsed} ms (bar: 3000 ms)`);
        const group = await text(page, '#graph svg g.ggroup[data-task="link"]');
        check(/10,?000/.test(group), `the graph's group of links says 10,000: ${group}`);
        check((await count(page, '#graph svg g.gnode')) === 0, 'no node of 10,001 drawn one by one');
        check((await count(page, '#tree .node[data-path^="n0/"]')) <= 1000, 'the tree pages the level in');
        await screenshot(page, 'big-dynamic.png');
        console.log(`interactive after ${elapsed} ms`);
      });
    } finally {
      ui.kill();
    }
  },

  // A map of 100,000 items: counts by phase, a page of the grid, the next page, one item.
  async 'a 100,000-item map shows its counts'() {
    record('map', RESUME_TASKS, ['mapped_items', '--n', '100000']);
    const ui = await startUi();
    try {
      const top = await api(ui, '/api/executions/map/children?path=');
      const mapNode = top.children.find((c) => c.kind === 'map');
      check(mapNode, `no map node among ${JSON.stringify(top.children)}`);
      await inBrowser(ui, async (page) => {
        await page.goto(`${ui.base}/e/map/n/${mapNode.path}`);
        await page.waitForSelector('#item-counts [data-phase="succeeded"]');
        const succeeded = await text(page, '#item-counts [data-phase="succeeded"]');
        check(/100,?000/.test(succeeded), `succeeded: ${succeeded}`);
        const failed = await text(page, '#item-counts [data-phase="failed"]');
        check(/(^|\D)0(\D|$)/.test(failed), `failed: ${failed}`);
        await page.waitForSelector('#items .item[data-k="199"]');
        check((await count(page, '#items .item')) === 200, 'a page of 200 items');
        await screenshot(page, 'map.png');
        await page.click('#items-next');
        await page.waitForSelector('#items .item[data-k="200"]');
        await page.click('#items .item[data-k="250"]');
        await page.waitForFunction((p) => location.pathname === `/e/map/n/${p}/i/250`, {}, mapNode.path);
        await page.waitForFunction(() => document.querySelector('#item-detail [data-field=phase]')?.textContent.includes('succeeded'));
      });
    } finally {
      ui.kill();
    }
  },

  // An execution, node or item that is not there: HTTP 404 and the not-found page.
  async 'bad ids give the 404 page'() {
    record('chains', RESUME_TASKS, ['chains', '--count', '2', '--length', '3']);
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        for (const [pathname, named] of [
          ['/e/nope', 'nope'],
          ['/e/chains/n/n0/dn99', 'n0/dn99'],
          ['/e/chains/n/n0/dn1/i/3', ''],
          ['/nothing/here', ''],
        ]) {
          const response = await page.goto(`${ui.base}${pathname}`);
          check(response.status() === 404, `${pathname}: HTTP ${response.status()}`);
          await page.waitForSelector('#not-found');
          if (named) {
            const message = await text(page, '#not-found');
            check(message.includes(named), `${pathname}: the page names ${named}: ${message}`);
          }
          check((await count(page, '#not-found a.home-link[href="/"]')) === 1, 'a link home');
        }
        await screenshot(page, 'not-found.png');
      });
    } finally {
      ui.kill();
    }
  },

  // What the server refuses, asked as an attacker would (not through the page).
  async 'traversal and foreign Host requests are refused'() {
    record('chains', RESUME_TASKS, ['chains', '--count', '2', '--length', '3']);
    fs.writeFileSync(path.join(scratch, 'secret.txt'), 'not for the page');
    const ui = await startUi();
    try {
      const foreign = await request(ui.port, '/api/executions', { headers: { Host: `attacker.example:${ui.port}` } });
      check(foreign.status === 403, `a foreign Host: ${foreign.status}`);
      check(!foreign.body.includes('chains'), 'a foreign Host learns nothing');
      const rebound = await request(ui.port, '/', { headers: { Host: `127.0.0.1.attacker.example:${ui.port}` } });
      check(rebound.status === 403, `a rebinding name: ${rebound.status}`);
      for (const pathname of ['/assets/../loom.db', '/assets/..%2F..%2Fsecret.txt', '/%2e%2e/secret.txt', '/loom.db',
        '/chains/workflow.json', '/api/executions/..%2Fsecret.txt', '/api/executions/chains/node?path=..%2F..%2Fsecret.txt']) {
        const r = await request(ui.port, pathname);
        check(r.status === 404, `${pathname}: ${r.status}`);
        check(!r.body.includes('not for the page') && !r.body.includes('SQLite format'), `${pathname}: a file's bytes`);
      }
      const post = await request(ui.port, '/api/executions', { method: 'POST' });
      check(post.status === 405, `POST: ${post.status}`);
      const page = await request(ui.port, '/');
      const csp = page.headers['content-security-policy'] || '';
      check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && !csp.includes('unsafe'), `CSP: ${csp}`);
    } finally {
      ui.kill();
    }
  },

  // A whole session of the page on a store: every file byte-identical after it, none
  // added; SIGTERM ends the server with its streams open, exit code 0.
  async "the store's files are byte-identical after a session"() {
    record('chains', RESUME_TASKS, ['chains', '--count', '2', '--length', '3']);
    record('picky', PROCESS_TASKS, ['p_picky_map', '--i0', '10']);
    const before = snapshot(storeDir);
    check(Object.keys(before).includes('loom.db'), 'the store has its database');
    const ui = await startUi();
    try {
      await inBrowser(ui, async (page) => {
        await page.goto(`${ui.base}/`);
        await page.waitForSelector('#executions tr[data-id="picky"]');
        await page.goto(`${ui.base}/e/chains`);
        await expand(page, 'n0');
        await page.waitForSelector('#tree .node[data-path="n0/dn3"]');
        await clickNode(page, 'n0/dn3');
        await page.waitForSelector('#node-summary[data-path="n0/dn3"]');
        await page.waitForSelector('#timeline g.tl-row');
        await screenshot(page, 'timeline.png');
        const top = await api(ui, '/api/executions/picky/children?path=');
        const mapNode = top.children.find((c) => c.kind === 'map');
        await page.goto(`${ui.base}/e/picky/n/${mapNode.path}`);
        await page.waitForSelector('#items .item[data-k="2"].phase-failed');
        await page.click('#items .item[data-k="2"]');
        await page.waitForFunction(() => document.querySelector('#item-detail')?.textContent.includes('no threes'));
      });
      check((await ui.stop()) === 0, 'loom ui exits 0 on SIGTERM');
    } finally {
      ui.kill();
    }
    const after = snapshot(storeDir);
    check(JSON.stringify(after) === JSON.stringify(before),
      `the store changed: before ${JSON.stringify(before)}\nafter ${JSON.stringify(after)}`);
  },
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`usage: node ui_browser_test.mjs CASE\ncases:\n  ${Object.keys(cases).join('\n  ')}`);
  process.exit(2);
}
for (const [variable, value] of Object.entries({ LOOM_TOOL: TOOL, LOOM_RESUME_TASKS: RESUME_TASKS, LOOM_PROCESS_TASKS: PROCESS_TASKS })) {
  if (!value) {
    console.error(`ui_browser_test: ${variable} is not set`);
    process.exit(2);
  }
}
try {
  await cases[name]();
  console.log(`ui browser: ${name}: passed`);
  process.exit(0);
} catch (e) {
  console.error(`ui browser: ${name}: FAILED: ${e instanceof TestFailure ? e.message : e.stack}`);
  process.exit(1);
}
