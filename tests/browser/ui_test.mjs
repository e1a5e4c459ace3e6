// Browser test of the web UI in Debian's chromium (headless, driven by playwright-core) against
// web_test_server: a real daemon::Firewall behind the real http::Server.
//   - log in (a wrong password first);
//   - switch the firewall off with the mouse and on with the keyboard, checking the daemon's
//     state through the API after each;
//   - replay a real attack capture through the daemon's packet path and see the attacker appear
//     as blocked with the daemon's reason, unblock it and see it go;
//   - Home's charts drawn from the history after the attack and a phone's registration, and the
//     attacker's own timeline;
//   - an operator's blocks are not counted as attacks, on Home either;
//   - the services grid of 20 services fits one desktop screen and shows the ports found in the
//     PBX's files (a transport of the administrator's on udp/5160) with their file:line;
//   - change a service's zones in the services grid and see the ruleset read back through the
//     API change;
//   - the PBX's ports and trunks on Settings with the file:line they come from;
//   - Home at phone width (no sideways scrolling, the switch full width) and from the keyboard
//     (focus order, every control named);
//   - screenshots of every page at desktop and phone width in OUT_DIR/screenshots; on every page
//     no sideways scrolling and no table row taller than its content needs;
//   - on every page one time format (ISO 8601, the server's time zone named once) and counts
//     with the right plural; the favicon served; the login page without navigation;
//   - no console error and no Content-Security-Policy violation anywhere, before or after login.
// Every wait is bounded (playwright's default timeout, or the server-output deadline).
// Usage: node ui_test.mjs WEB_TEST_SERVER WEB_ROOT OUT_DIR CAPTURE
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
// Installed by scripts/setup (npm ci in tests/browser); node_modules is not in git.
const { chromium } = await import('playwright-core').catch((e) => {
  console.error(`playwright-core is not installed: run scripts/setup (npm ci in tests/browser): ${e.message}`);
  process.exit(1);
});

const [serverBin, webRoot, outDir, capture] = process.argv.slice(2);
if (!capture) {
  console.error('usage: node ui_test.mjs WEB_TEST_SERVER WEB_ROOT OUT_DIR CAPTURE');
  process.exit(2);
}
const started = Date.now();
const phases = [];
const phase = (name) => phases.push([name, Date.now()]);
const work = mkdtempSync(join(tmpdir(), 'pbxwall-ui-'));
const shots = join(outDir, 'screenshots');
mkdirSync(shots, { recursive: true });
const captures = dirname(capture);
// The FreePBX 17 tree of tests/data with a transport of the administrator's own on a
// non-default port (pjsip.transports_custom.conf), which the table enforces and Services shows.
const asteriskRoot = join(work, 'asterisk');
cpSync(join(dirname(captures), 'asterisk', 'freepbx17'), asteriskRoot, { recursive: true });
writeFileSync(join(asteriskRoot, 'pjsip.transports_custom.conf'),
  '; a second UDP transport for old phones\n[0.0.0.0-udp-5160]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5160\n');
// 20 services in the grid: the 12 built-in ones and 8 of the administrator's.
const CUSTOM = ['crm', 'recording', 'fax', 'paging', 'backup', 'monitor', 'sms', 'queue'];
writeFileSync(join(work, 'pbxwall.toml'),
  `# browser test\n[networks]\n"198.51.100.200" = "trusted"\n\n[pbx]\nasterisk_root = "${asteriskRoot}"\n`
  + CUSTOM.map((name, i) => `\n[[custom_services]]\nname = "${name}"\ndescription = "${name} connector"\nports = ["tcp/${9000 + i}"]\nzones = ["local"]\n`).join(''));

// The daemon sees the browser as 198.51.100.200 (trusted by the configuration above), a remote
// admin whose own address a change can cut off.
const ADMIN = '198.51.100.200';
const server = spawn(serverBin, [work, webRoot, ADMIN], { stdio: ['pipe', 'pipe', 'inherit'] });
let out = '';
server.stdout.on('data', (d) => { out += d; });
// Waits for the server to print a line matching `pattern` (after `from` in its output).
const serverSays = (pattern, from = 0, ms = 20000) => new Promise((resolve, reject) => {
  const check = () => {
    const m = out.slice(from).match(pattern);
    if (!m) return false;
    clearTimeout(timer);
    server.stdout.off('data', check);
    server.off('exit', exited);
    resolve(m);
    return true;
  };
  const exited = (code) => { clearTimeout(timer); reject(new Error(`web_test_server exited (${code}) before printing ${pattern}`)); };
  const timer = setTimeout(() => {
    server.stdout.off('data', check);
    server.off('exit', exited);
    reject(new Error(`web_test_server did not print ${pattern} within ${ms} ms`));
  }, ms);
  if (!check()) {
    server.stdout.on('data', check);
    server.on('exit', exited);
  }
});

const PAGES = {
  home: 'Home', responsive: 'Responsive firewall', zones: 'Zones & networks', interfaces: 'Interfaces',
  services: 'Services', extensions: 'Extensions', settings: 'Settings',
};
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let browser;
let debugPage = null;
const pageErrors = [];
// Console errors a step causes on purpose (each allowed once), e.g. the 401 of a wrong password.
const expectedErrors = [];
// Dialogs a step opens on purpose (each dismissed), e.g. the UI asking whether to apply a change
// that cuts off the admin's own address.
const expectedDialogs = [];
try {
  const port = (await serverSays(/port (\d+)/))[1];
  const base = `http://127.0.0.1:${port}`;
  phase('server up');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // As root chromium needs --no-sandbox; nothing may reach the network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions'],
  });
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  debugPage = page;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // Any console error (a refused inline style, a missing file, a failed request) fails the test.
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = `${m.text()} at ${m.location().url}`;
    const i = expectedErrors.findIndex((re) => re.test(text));
    if (i >= 0) expectedErrors.splice(i, 1);
    else pageErrors.push(`console error: ${text}`);
  });
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI || ''} ${e.sample || ''}`);
  }));
  page.on('dialog', (d) => {
    if (expectedDialogs.length && expectedDialogs[0].test(d.message())) expectedDialogs.shift();
    else pageErrors.push(`unexpected dialog: ${d.message()}`);
    d.dismiss();
  });
  // The daemon's state, read through the API with the browser's session cookie.
  const apiGet = async (path) => {
    const r = await page.request.get(base + path);
    assert.equal(r.status(), 200, `GET ${path}: ${r.status()} ${await r.text()}`);
    return r.json();
  };
  const gotoPage = async (name) => {
    await page.goto(`${base}/#${name}`);
    await page.locator('#page h2', { hasText: PAGES[name] }).waitFor();
  };
  phase('browser up');

  // ---- Log in (a wrong password first) ----
  await page.goto(base + '/');
  await page.getByLabel('Admin password').waitFor();
  // Before login: no navigation, no Log out, no favicon error.
  assert.equal(await page.locator('#nav').isVisible(), false, 'the navigation shows before login');
  assert.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false, 'Log out shows before login');
  await page.screenshot({ path: join(shots, 'login-desktop.png'), fullPage: true });
  // The page names its icon, which the server has.
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  const iconReply = await page.request.get(new URL(icon, base).href);
  assert.equal(iconReply.status(), 200, `the favicon ${icon}: ${iconReply.status()}`);
  assert.match(iconReply.headers()['content-type'] || '', /^image\/svg\+xml/, `the favicon's type: ${iconReply.headers()['content-type']}`);
  assert.match(await iconReply.text(), /^<svg[\s>]/, 'the favicon is not an SVG picture');
  // At phone width the login page has no navigation either and does not scroll sideways.
  await page.setViewportSize(PHONE);
  assert.equal(await page.locator('#nav').isVisible(), false, 'the navigation shows before login at phone width');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the login page scrolls sideways at phone width');
  await page.screenshot({ path: join(shots, 'login-phone.png'), fullPage: true });
  await page.setViewportSize(DESKTOP);
  expectedErrors.push(/status of 401 .* at http:\/\/127\.0\.0\.1:\d+\/api\/login$/);
  await page.getByLabel('Admin password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('status').getByText('wrong password').waitFor();
  assert.deepEqual(expectedErrors, [], 'the wrong password caused no 401');
  await page.getByLabel('Admin password').fill('correct horse');
  await page.getByRole('button', { name: 'Log in' }).click();
  const power = page.getByRole('switch', { name: /Firewall/ });
  await power.waitFor();
  assert.equal(await power.getAttribute('aria-checked'), 'true');
  assert.equal((await apiGet('/api/status')).enabled, true);
  // The mode (observe or inline) and the time zone of the times are shown.
  assert.match(await page.locator('#mode').innerText(), /^Mode: (Observe|Inline)/);
  // The mode named is the packet path the daemon uses (the test's kernel path: log groups).
  const path = (await apiGet('/api/status')).packet_path;
  assert.match(await page.locator('#mode').innerText(), path === 'log' ? /^Mode: Observe\. .*first packets reach the PBX/ : /^Mode: Inline/,
    `the mode shown is not the daemon's packet path ${path}`);
  if (path === 'log') assert.match(await page.locator('#mode-inline').innerText(), /packet_path = "queue".*"external-queue"/);
  // Without [crowdsec] and [[blocklists]] the fleet card says nothing is shared.
  assert.match(await page.locator('#fleet').innerText(), /Not shared: no \[crowdsec\] and no \[\[blocklists\]\]/);
  // A trunk whose name does not resolve needs the admin's attention.
  await page.locator('.warning', { hasText: 'trunk carrier2 gw2.carrier2.example: does not resolve (NXDOMAIN)' }).waitFor();
  assert.match(await page.locator('#time-zone').innerText(), /server's time zone, UTC/);
  phase('log in');

  // ---- Off with the mouse, on with the keyboard; the daemon's state after each ----
  const rulesetOn = (await apiGet('/api/ruleset')).ruleset;
  await power.click();
  await page.locator('#power[aria-checked="false"]').waitFor();
  assert.equal((await apiGet('/api/status')).enabled, false, 'the daemon is still on');
  const rulesetOff = (await apiGet('/api/ruleset')).ruleset;
  assert.notEqual(rulesetOff, rulesetOn, 'switching off did not change the ruleset');
  assert.match(readFileSync(join(work, 'pbxwall.toml'), 'utf8'), /enabled = false/);
  await page.getByText('Everything is accepted').waitFor();
  // The re-rendered switch has the focus again, so Space switches it back on.
  await page.waitForFunction(() => document.activeElement?.id === 'power');
  await page.keyboard.press('Space');
  await page.locator('#power[aria-checked="true"]').waitFor();
  assert.equal((await apiGet('/api/status')).enabled, true, 'the daemon is still off');
  assert.equal((await apiGet('/api/ruleset')).ruleset, rulesetOn);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'power', 'focus left the switch');
  phase('off and on');

  // ---- Home from the keyboard: focus order and names ----
  await gotoPage('home');
  await page.reload();
  await power.waitFor();
  const order = [];
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => {
      const e = document.activeElement;
      return (e.getAttribute('aria-label') || e.textContent || '').trim();
    }));
  }
  assert.deepEqual(order, ['Skip to content', 'Home', 'Responsive', 'Zones & networks', 'Interfaces', 'Services',
    'Extensions', 'Settings', 'Log out', 'Firewall ON'], 'focus order on Home');
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
    .filter((e) => e.offsetParent !== null || e === document.activeElement)
    .filter((e) => {
      const labelled = e.labels && [...e.labels].some((l) => l.textContent.trim());
      const by = e.getAttribute('aria-labelledby');
      return !(labelled || (e.getAttribute('aria-label') || '').trim() || (by && document.getElementById(by)?.textContent.trim())
        || (e.matches('a, button, [role]') && e.textContent.trim()) || e.id === 'main');
    }).map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, [], 'controls on Home without an accessible name');
  // The skip link leads to the content.
  for (let i = 0; i < 9; i++) await page.keyboard.press('Shift+Tab');  // back to the skip link
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');
  phase('keyboard');

  // ---- Home at phone width ----
  await page.setViewportSize(PHONE);
  await power.waitFor();
  const layout = await page.evaluate(() => {
    const box = (e) => e.getBoundingClientRect();
    const main = document.querySelector('#page');
    return {
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      power: box(document.querySelector('#power')).toJSON(),
      main: box(main).toJSON(),
      outside: [...document.querySelectorAll('nav a, nav button, .counter, #page h2, .card')]
        .filter((e) => box(e).left < 0 || box(e).right > window.innerWidth + 0.5).map((e) => e.textContent.trim().slice(0, 40)),
    };
  });
  assert.ok(layout.scrollWidth <= layout.width, `Home scrolls sideways at phone width: ${layout.scrollWidth} > ${layout.width}`);
  assert.deepEqual(layout.outside, [], 'elements outside the phone screen');
  assert.ok(layout.power.height >= 44, `the switch is too small to tap: ${layout.power.height}px`);
  assert.ok(layout.power.width >= layout.main.width * 0.8, 'the switch does not take the phone width');
  await page.screenshot({ path: join(shots, 'home-phone-checked.png'), fullPage: true });
  await page.setViewportSize(DESKTOP);
  phase('phone layout');

  // ---- A replayed attack: blocked with its reason, then unblocked ----
  await gotoPage('responsive');
  await page.getByText('Blocked sources: none.').waitFor();
  const mark = out.length;
  server.stdin.write(`replay ${capture}\n`);
  const fed = Number((await serverSays(/replayed (\d+) packets|replay failed: .*/, mark))[1]);
  assert.ok(fed > 0, 'the capture fed no packets');
  const blocked = (await apiGet('/api/responsive/blocked')).items;
  const attacker = blocked.find((b) => b.addr === '192.0.2.66');
  assert.ok(attacker, `the attacker is not blocked after ${fed} packets: ${JSON.stringify(blocked)}`);
  assert.ok(attacker.reason, 'the block has no reason');
  // The page learns of the block from the event stream, without a reload.
  const row = page.getByRole('row').filter({ hasText: '192.0.2.66' });
  await row.waitFor();
  const rowText = await row.innerText();
  assert.ok(rowText.includes(attacker.reason), `the row does not show the reason "${attacker.reason}": ${rowText}`);
  assert.ok(rowText.includes(attacker.rule), `the row does not show the rule "${attacker.rule}": ${rowText}`);
  assert.match(rowText, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|until unblocked/, `the row's time is not ISO 8601: ${rowText}`);
  // The filter finds a block by its origin, and hides it for another one.
  const filterBox = page.getByLabel('Filter by address, rule, origin, reason or user');
  await filterBox.fill(attacker.origin);
  await row.waitFor();
  await filterBox.fill('crowdsec');
  await page.getByText('Blocked sources: none.').waitFor();
  await filterBox.fill('');
  await row.waitFor();
  // The attacker's own timeline: its decisions with their reasons.
  await page.getByRole('button', { name: 'History of 192.0.2.66' }).click();
  const sourceChart = page.locator('#chart-source');
  await sourceChart.waitFor();
  assert.ok(Number(await sourceChart.getAttribute('data-total')) > 0, 'the source timeline is empty');
  assert.ok(await sourceChart.locator('circle.bar').count() > 0, 'the source timeline draws no event');
  // The replayed scan takes under a minute: the axis ends with the time since its start.
  assert.match(await sourceChart.locator('text.axis-end').textContent(), /^\+\d+(\.\d\d)? s$/, 'the timeline axis does not say how long the scan took');
  // Its requests, the PBX's answers and the decision with its reason, in time order.
  const steps = (await page.getByRole('table', { name: 'Timeline of 192.0.2.66' }).locator('tbody tr').allInnerTexts())
    .map((t) => t.replace(/\s+/g, ' ').trim());
  const firstOf = (re) => steps.findIndex((t) => re.test(t));
  const firstRequest = firstOf(/ request REGISTER for \S+/);
  const firstAnswer = firstOf(/ PBX answer \d{3} to REGISTER/);
  const theBlock = firstOf(/ block /);
  assert.ok(firstRequest >= 0 && firstAnswer >= 0 && theBlock >= 0, `the timeline lacks requests, answers or the block: ${steps.join('\n')}`);
  assert.ok(firstRequest < firstAnswer, `an answer before the first request: ${steps.join('\n')}`);
  assert.ok(steps[theBlock].includes(attacker.reason), `the block's reason is not in the timeline: ${steps[theBlock]}`);
  // A repeated step within one second shows one time, not "18:02:03 to 18:02:03".
  assert.deepEqual(steps.filter((t) => /(\d\d:\d\d:\d\d) to \1/.test(t)), [], 'a time range from a second to the same second');
  const trail = await apiGet('/api/source?addr=192.0.2.66');
  assert.ok(trail.steps.some((x) => x.from_pbx) && trail.steps.some((x) => !x.from_pbx), `the daemon's trail: ${JSON.stringify(trail).slice(0, 300)}`);
  await page.screenshot({ path: join(shots, 'responsive-blocked-desktop.png'), fullPage: true });
  await page.getByRole('button', { name: 'Unblock 192.0.2.66' }).click();
  await page.getByText('Blocked sources: none.').waitFor();
  assert.deepEqual((await apiGet('/api/responsive/blocked')).items.filter((b) => b.addr === '192.0.2.66'), []);
  phase('attack blocked and unblocked');

  // ---- Charts on Home after the attack and a phone's registrations ----
  const mark2 = out.length;
  server.stdin.write(`replay ${join(captures, 'phones.pcap')}\n`);
  assert.ok(Number((await serverSays(/replayed (\d+) packets|replay failed: .*/, mark2))[1]) > 0, 'phones.pcap fed no packets');
  assert.ok((await apiGet('/api/responsive/validated')).items.length > 0, 'no phone validated by phones.pcap');
  await gotoPage('home');
  for (const id of ['chart-blocks', 'chart-attackers', 'chart-validated']) {
    const chart = page.locator(`#${id}`);
    await chart.waitFor();
    assert.ok(Number(await chart.getAttribute('data-total')) > 0, `${id} shows no data`);
    assert.ok(await chart.locator('.bar').count() > 0, `${id} draws no bar`);
  }
  assert.match(await page.locator('#chart-attackers').innerText(), /password-guessing|user-enumeration|fingerprint/);
  // The operator's unblock is not an attack: the counters count the rule's block only.
  const overview = await apiGet('/api/overview');
  assert.equal(overview.blocked_last_hour, 1, `attacks blocked in the last hour: ${overview.blocked_last_hour}`);
  await page.getByRole('button', { name: 'Last week' }).click();
  await page.locator('#period-week[aria-pressed="true"]').waitFor();
  assert.ok(Number(await page.locator('#chart-blocks').getAttribute('data-total')) > 0, 'the week chart shows no data');
  await page.screenshot({ path: join(shots, 'home-charts-desktop.png'), fullPage: true });
  phase('charts');

  // ---- The fleet card: CrowdSec's link, last pull, decisions by origin, queue, blocklists ----
  const mark3 = out.length;
  server.stdin.write('fleet\n');
  await serverSays(/fleet on/, mark3);
  await page.reload();
  const fleet = page.locator('#fleet');
  await fleet.getByText('CrowdSec http://192.0.2.9:8080/: link down.').waitFor();
  assert.match(await page.locator('#fleet-link').getAttribute('class'), /warning/, 'a link down is not a warning');
  assert.match(await fleet.innerText(), /Last pull: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\. connect: connection refused/);
  assert.match(await fleet.innerText(), /blocks waiting to be sent: 3; sent: 17/);
  const byOrigin = await page.getByRole('table', { name: 'Decisions applied by origin' }).locator('tbody tr').allInnerTexts();
  assert.deepEqual(byOrigin.map((t) => t.replace(/\s+/g, ' ').trim()), ['crowdsec:crowdsecurity/ssh-bf 30', 'CAPI 12']);
  const lists = page.getByRole('table', { name: 'Blocklists' });
  assert.match(await lists.getByRole('row').filter({ hasText: 'voipbl' }).innerText(), /51234[\s\S]*\d{4}-\d\d-\d\d[\s\S]*ok/);
  const apiban = lists.getByRole('row').filter({ hasText: 'apiban' });
  assert.equal(await apiban.locator('.warning', { hasText: 'The last fetch failed: HTTP 503; the last good copy is used' }).count(), 1);
  await page.screenshot({ path: join(shots, 'home-fleet-desktop.png'), fullPage: true });
  phase('fleet');

  // ---- An operator's blocks, with a duration and a reason: not attacks; unblocked together ----
  await gotoPage('responsive');
  for (const a of ['198.51.100.77', '198.51.100.78']) {
    await page.getByLabel('Block an address or network').fill(a);
    await page.getByLabel('For (minutes)').fill('10');
    await page.getByLabel('Reason', { exact: true }).fill('seen in the logs');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    await page.getByRole('row').filter({ hasText: a }).waitFor();
  }
  const mine = (await apiGet('/api/responsive/blocked')).items.filter((b) => b.addr.startsWith('198.51.100.7'));
  assert.equal(mine.length, 2, `the operator's blocks: ${JSON.stringify(mine)}`);
  assert.ok(mine.every((b) => b.reason.includes('seen in the logs') && b.until > Date.now() / 1000 + 500 && b.until < Date.now() / 1000 + 700),
    `the blocks lack the reason or the 10 minutes: ${JSON.stringify(mine)}`);
  assert.equal((await apiGet('/api/overview')).blocked_last_hour, overview.blocked_last_hour, 'an operator block counted as an attack');
  // Home agrees: the counters and the charts of attacks leave the operator's blocks out.
  await gotoPage('home');
  const attacksShown = async (label) => Number(await page.locator('.counter', { hasText: label }).locator('strong').innerText());
  assert.equal(await attacksShown('Attacks blocked, last hour'), overview.blocked_last_hour, 'Home counts an operator block as an attack');
  assert.equal(await attacksShown('Attacks blocked, last day'), overview.blocked_last_day, 'Home counts an operator block as an attack (day)');
  assert.equal(await attacksShown('Sources blocked now'), 2, 'Home does not show the operator\'s two blocks as blocked now');
  assert.equal(Number(await page.locator('#chart-blocks').getAttribute('data-total')), overview.blocked_last_day, 'the chart of attacks counts an operator block');
  assert.doesNotMatch(await page.locator('#chart-attackers').innerText(), /admin|manual/, 'an operator shown among the attackers');
  await gotoPage('responsive');
  await page.getByLabel('Filter by address, rule, origin, reason or user').fill('198.51.100.7');
  for (const a of ['198.51.100.77', '198.51.100.78']) await page.getByLabel(`Select ${a}`).check();
  await page.getByRole('button', { name: 'Unblock selected' }).click();
  await page.getByRole('status').getByText('Unblocked 2 sources.').waitFor();
  assert.deepEqual((await apiGet('/api/responsive/blocked')).items.filter((b) => b.addr.startsWith('198.51.100.7')), []);
  // A render that arrives after the user moved on does not pull the focus back: the filter's
  // re-render is held until the block form has the focus and what was typed into it.
  let release;
  const held = new Promise((r) => { release = r; });
  const blockedList = /\/api\/responsive\/blocked(\?|$)/;
  await page.route(blockedList, async (r) => { await held; await r.continue(); });
  await page.getByLabel('Filter by address, rule, origin, reason or user').fill('');
  await page.getByLabel('Block an address or network').fill('203.0.113.128/25');
  await page.evaluate(() => { document.querySelector('#block-addr').dataset.before = 'render'; });
  release();
  await page.locator('#block-addr:not([data-before])').waitFor();
  await page.unroute(blockedList);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'block-addr', 'a late render took the focus from the block form');
  assert.equal(await page.getByLabel('Block an address or network').inputValue(), '203.0.113.128/25', 'a late render lost what was typed');
  assert.equal(await page.getByLabel('Filter by address, rule, origin, reason or user').inputValue(), '', 'typing went into the filter');
  // A whole network, with a duration and a reason; then unblocked from its row.
  await page.getByLabel('Block an address or network').fill('203.0.113.128/25');
  await page.getByLabel('For (minutes)').fill('30');
  await page.getByLabel('Reason', { exact: true }).fill('scanner range');
  await page.getByRole('button', { name: 'Block', exact: true }).click();
  await page.getByRole('row').filter({ hasText: '203.0.113.128/25' }).waitFor();
  const net = (await apiGet('/api/responsive/blocked')).items.find((b) => b.addr === '203.0.113.128/25');
  assert.ok(net && net.reason.includes('scanner range') && net.until > Date.now() / 1000 + 1700 && net.until < Date.now() / 1000 + 1900,
    `the network block: ${JSON.stringify(net)}`);
  assert.equal(await page.getByRole('button', { name: 'History of 203.0.113.128/25' }).count(), 0, 'a blocked network has no packet history of its own');
  await page.getByRole('button', { name: 'Unblock 203.0.113.128/25' }).click();
  await page.getByText('Blocked sources: none.').waitFor();
  phase('operator blocks');

  // ---- A service's zones change reaches the ruleset ----
  const before = (await apiGet('/api/ruleset')).ruleset;
  await gotoPage('services');
  const grid = page.getByRole('form', { name: 'Services and zones' });
  // The grid of all 20 services fits in one desktop screen.
  assert.equal(await grid.locator('tbody tr').count(), 20, 'the grid does not show the 20 services');
  const gridBox = await grid.boundingBox();
  assert.ok(gridBox.height <= DESKTOP.height, `the services grid of 20 services is ${gridBox.height}px tall`);
  // The ports enforced include those found in the PBX's files, each with the file:line it comes from.
  const sipRow = grid.getByRole('row').filter({ has: page.getByRole('cell', { name: 'sip', exact: true }) });
  const sipPorts = (await sipRow.locator('td[data-label="Ports enforced"]').innerText()).replace(/\s+/g, ' ');
  assert.match(sipPorts, /udp\/5160 from pjsip\.transports_custom\.conf:5/, `sip's ports: ${sipPorts}`);
  assert.match(sipPorts, /udp\/5060 from pjsip\.transports\.conf:9/, `sip's ports: ${sipPorts}`);
  // and the table enforces them: SIP on 5160 is responsive.
  const enforcedPorts = ((await apiGet('/api/ruleset')).ruleset.match(/set responsive_ports \{[^}]*\}/) || [''])[0];
  assert.match(enforcedPorts, /udp \. 5160/, `the table does not enforce udp/5160: ${enforcedPorts}`);
  const sshPorts = await grid.getByRole('row').filter({ has: page.getByRole('cell', { name: 'ssh', exact: true }) })
    .locator('td[data-label="Ports enforced"]').innerText();
  assert.equal(sshPorts.trim(), 'tcp/22', 'a built-in default shown as found in the PBX');
  await grid.getByLabel('ssh open to other').check();
  await grid.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Done: service ssh opened to: local, other.').waitFor();
  // The edit went through the daemon's safe mode, which the notice says.
  await page.getByText(/Safe mode: confirm it within \d+ s or it is rolled back\./).waitFor();
  const after = (await apiGet('/api/ruleset')).ruleset;
  assert.notEqual(after, before, 'the ruleset did not change');
  // The ports zone "other" may reach: the set svc_other gains ssh's tcp . 22.
  const otherPorts = (text) => (text.match(/set svc_other \{[^}]*\}/) || [''])[0];
  assert.doesNotMatch(otherPorts(before), /tcp \. 22\b/, 'ssh was open to zone other already');
  assert.match(otherPorts(after), /tcp \. 22\b/, `ssh is not in svc_other: ${otherPorts(after)}`);
  assert.equal(readFileSync(join(work, 'ruleset.nft'), 'utf8'), after, 'the API does not show the applied ruleset');
  const sshZones = (await apiGet('/api/config')).services.find((s) => s.name === 'ssh').zones;
  assert.deepEqual(sshZones, ['local', 'other']);
  assert.match(readFileSync(join(work, 'pbxwall.toml'), 'utf8'), /\[services\.ssh\]\nzones = \["local", "other"\]/);
  phase('service zones');

  // ---- The PBX found on this server: ports and trunks with where they come from ----
  await gotoPage('settings');
  // Settings shows one part at a time; the PBX's part says a trunk does not resolve.
  assert.match(await page.locator('#settings-part-found').innerText(), /1 trunk unresolved/);
  await page.locator('#settings-part-found').click();
  await page.locator('#settings-part-found[aria-pressed="true"]').waitFor();
  assert.equal(await page.locator('#settings-firewall').count(), 0, 'the other parts of Settings are shown too');
  const from = await page.getByRole('table', { name: 'Signalling ports' }).locator('td[data-label="From"]').allInnerTexts();
  assert.ok(from.length > 0 && from.every((t) => /\.conf:\d+/.test(t)), `signalling ports without their file:line: ${from}`);
  const trunkHosts = await page.getByRole('table', { name: 'Trunks' }).locator('td[data-label="Host"]').allInnerTexts();
  assert.equal(new Set(trunkHosts).size, trunkHosts.length, `a trunk host is listed twice: ${trunkHosts}`);
  const trunkNames = await page.getByRole('table', { name: 'Trunks' }).locator('td[data-label="Trunk"]').allInnerTexts();
  assert.ok(trunkNames.length > 0 && trunkNames.every((t) => t.trim()), `trunks without a name: ${trunkNames}`);
  // Each trunk's truth from the daemon's resolver: the address and TTL, or a warning that it
  // does not resolve (web_test_server resolves gw1.carrier2.example only).
  const trunkRow = (host) => page.getByRole('table', { name: 'Trunks' }).getByRole('row')
    .filter({ has: page.getByRole('cell', { name: host, exact: true }) });
  assert.match(await trunkRow('gw1.carrier2.example').innerText(), /192\.0\.2\.80 \(TTL 300 s\)/, 'gw1 without its address and TTL');
  const gw2 = trunkRow('gw2.carrier2.example');
  assert.match(await gw2.innerText(), /Does not resolve: the name does not exist \(NXDOMAIN\)\. Its traffic is not trusted\./);
  assert.equal(await gw2.locator('.warning.trunk-state').count(), 1, 'the unresolved trunk is not shown as a warning');
  assert.equal(await trunkRow('gw1.carrier2.example').locator('.warning').count(), 0, 'a resolving trunk shown as a warning');
  const pbxApi = await apiGet('/api/pbx');
  assert.deepEqual(pbxApi.trunks.filter((t) => t.state === 'no_name').map((t) => t.host), ['gw2.carrier2.example'],
    `the API's trunk states: ${JSON.stringify(pbxApi.trunks)}`);
  phase('settings');

  // ---- Settings edited through the safe path, read back from the configuration file ----
  const toml = () => readFileSync(join(work, 'pbxwall.toml'), 'utf8');
  // The [responsive] table: its header and the lines up to the next header.
  const responsivePart = () => (toml().match(/^\[responsive\]\n(?:[^[\n].*\n?|\n)*/m) || [''])[0];
  // Saves a settings form and waits for the notice and for the page drawn again after it (the
  // old form is marked, the new one is not), so the next edit lands in the new form.
  const saveSettings = async (section, button, notice) => {
    await page.locator(`#settings-${section}`).evaluate((f) => { f.dataset.stale = 'yes'; });
    await page.getByRole('button', { name: button }).click();
    await page.getByRole('status').getByText(notice).waitFor();
    await page.locator(`#settings-${section}:not([data-stale])`).waitFor();
  };
  await page.locator('#settings-part-responsive').click();
  const responsiveForm = page.getByRole('form', { name: 'Responsive firewall' });
  await responsiveForm.getByText('More settings').click();
  await responsiveForm.locator('#set-responsive-guessing_failures').fill('6');
  await responsiveForm.getByLabel('IAX2').uncheck();
  await saveSettings('responsive', 'Save Responsive firewall', /Done: \[responsive\] guessing_failures = 6, protocols = \["sip"\]\./);
  assert.match(responsivePart(), /^guessing_failures = 6$/m, `the file: ${toml()}`);
  assert.match(responsivePart(), /^protocols = \["sip"\]$/m, `the file: ${toml()}`);
  assert.equal((await apiGet('/api/config')).settings.responsive.guessing_failures, 6);
  // IAX2 left the responsive firewall: its port is no longer in responsive_ports.
  const responsivePorts = ((await apiGet('/api/ruleset')).ruleset.match(/set responsive_ports \{[^}]*\}/) || [''])[0];
  assert.doesNotMatch(responsivePorts, /udp \. 4569/, `IAX2 is still responsive: ${responsivePorts}`);
  // Read back after a reload of the page: the form shows what the file says.
  await page.reload();
  await page.locator('#settings-part-responsive').click();
  await page.getByRole('form', { name: 'Responsive firewall' }).getByText('More settings').click();
  await page.locator('#set-responsive-guessing_failures').waitFor();
  assert.equal(await page.locator('#set-responsive-guessing_failures').inputValue(), '6');
  assert.equal(await page.getByRole('form', { name: 'Responsive firewall' }).getByLabel('IAX2').isChecked(), false);
  // Emptied, a threshold goes back to its default: the key leaves the file.
  await page.locator('#set-responsive-guessing_failures').fill('');
  await page.getByRole('form', { name: 'Responsive firewall' }).getByLabel('IAX2').check();
  await saveSettings('responsive', 'Save Responsive firewall', /guessing_failures back to its default/);
  assert.doesNotMatch(responsivePart(), /guessing_failures/, `the file: ${toml()}`);
  assert.match(responsivePart(), /^protocols = \["sip", "iax"\]$/m, `the file: ${toml()}`);
  // Drop or reject.
  await page.locator('#settings-part-firewall').click();
  await page.locator('#set-firewall-reject').selectOption({ label: 'reject' });
  await saveSettings('firewall', 'Save Firewall', /Done: \[firewall\] reject = true\./);
  assert.match(toml(), /\[firewall\][^[]*^reject = true$/m, `the file: ${toml()}`);
  // A value the configuration refuses: the error names the key, and nothing changes.
  const beforeBad = toml();
  expectedErrors.push(/status of 422 .*\/api\/settings\/firewall$/);
  await page.locator('#set-firewall-safe_mode_seconds').fill('5');
  await page.getByRole('button', { name: 'Save Firewall' }).click();
  await page.getByRole('status').getByText(/safe_mode_seconds/).first().waitFor();
  assert.equal(toml(), beforeBad, 'a refused setting changed the file');
  assert.deepEqual(expectedErrors, [], 'the refused setting caused no 422');
  await page.screenshot({ path: join(shots, 'settings-edited-desktop.png'), fullPage: true });
  phase('settings edited');

  // ---- A change that would cut off the admin's own address is refused ----
  await gotoPage('zones');
  const beforeLockout = toml();
  expectedErrors.push(/status of 409 .*\/api\/networks$/);
  expectedDialogs.push(/would cut your/);
  await page.getByLabel('Address, network or hostname').fill(ADMIN);
  await page.locator('#net-zone').selectOption('reject');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Not changed.').waitFor();
  assert.deepEqual(expectedDialogs, [], 'the UI did not ask before cutting off the admin');
  assert.deepEqual(expectedErrors, [], 'the lockout was not refused with 409');
  assert.equal(toml(), beforeLockout, 'the lockout change reached the file');
  assert.equal((await apiGet('/api/config')).networks.find((n) => n.key === ADMIN).zone, 'trusted');
  phase('lockout refused');

  // ---- Extensions: every one the PBX has, with where it is configured and its state ----
  await gotoPage('extensions');
  const extTable = page.getByRole('table', { name: 'Extensions' });
  const e201 = extTable.getByRole('row').filter({ has: page.getByRole('cell', { name: '201', exact: true }) });
  assert.match(await e201.innerText(), /pjsip endpoint \(pjsip\.endpoint\.conf:\d+\)/, 'extension 201 of the PBX is not listed with its file');
  const e300 = extTable.getByRole('row').filter({ has: page.getByRole('cell', { name: '300', exact: true }) });
  assert.match(await e300.innerText(), /registered from 198\.51\.100\.10/, 'the validated phone 300 is not shown registered');
  // Trunks are not extensions: they are named as such, with a link to where they are listed.
  for (const trunk of ['carrier2', 'v6carrier', 'leeds'])
    assert.equal(await extTable.getByRole('cell', { name: trunk, exact: true }).count(), 0, `trunk ${trunk} listed as an extension`);
  assert.match(await page.locator('#trunks-elsewhere').innerText(), /carrier2.*v6carrier/);
  // Its link leads to the trunks.
  await page.locator('#to-trunks').click();
  await page.getByRole('table', { name: 'Trunks' }).waitFor();
  await gotoPage('extensions');
  await page.getByRole('button', { name: 'Edit rules of 201' }).click();
  await page.getByLabel('Allowed from').fill('198.51.100.0/24');
  await page.getByLabel('Services once registered').fill('ucp');
  await page.getByRole('form', { name: 'Access rules of an extension' }).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Done: access rules of extension 201 set.').waitFor();
  assert.match(toml(), /\[users\.201\]\nallow_from = \["198\.51\.100\.0\/24"\]\nservices = \["ucp"\]/, `the file: ${toml()}`);
  await extTable.getByRole('row').filter({ hasText: '198.51.100.0/24' }).waitFor();
  phase('extensions');

  // ---- Screenshots of every page, desktop and phone ----
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    for (const name of Object.keys(PAGES)) {
      await gotoPage(name);
      await page.screenshot({ path: join(shots, `${name}-${label}.png`), fullPage: true });
      // One time format: ISO 8601 on the server's clock, its time zone named once under the page
      // (no US dates, no AM/PM, no zone after each time); counts with the right plural.
      const text = await page.locator('body').innerText();
      assert.doesNotMatch(text, /\b\d{1,2}\/\d{1,2}\/\d{4}\b|\d:\d\d(:\d\d)? ?[AP]M\b/, `${name}: a locale-formatted time`);
      assert.doesNotMatch(text, /\d\d:\d\d:\d\d ?(Z|UTC|GMT|[+-]\d\d:?\d\d)\b/, `${name}: a time zone after a time`);
      assert.equal(await page.locator('#time-zone').count(), 1, `${name}: the time zone is not named once`);
      assert.equal((text.match(/server's time zone/g) || []).length, 1, `${name}: the time zone is named more than once`);
      const badPlural = text.match(/(?<![\d.,])1 (times|sources|failures|attempts|blocks|packets|events|rows|trunks|phones|extensions|services|addresses|minutes|seconds|hours|days|users|requests|answers)\b|\(s\)|\b(?!1\b)\d+ (time|source|failure|attempt|block|packet|event|trunk|phone|extension|service|minute|second|hour|user)\b(?! (set|rule|limit|ago|zone|form|list|address|of|name|table|timeline|from|by|to|count|window|ceiling|queue))/);
      assert.equal(badPlural, null, `${name} at ${label} width: a count with the wrong plural: ${badPlural && badPlural[0]}`);
      // Wide tables scroll inside their card; the page itself never scrolls sideways.
      const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scrollWidth <= width, `${name} scrolls sideways at ${label} width: ${scrollWidth} > ${width}`);
      // No row is taller than its content needs: at desktop width a row is at most a few lines;
      // at phone width a stacked row at most a few lines per cell.
      const tall = await page.evaluate((phone) => [...document.querySelectorAll('#page tbody tr')].map((tr) => {
        const cells = [...tr.children].filter((td) => td.getBoundingClientRect().height > 0);
        // At phone width a cell is its label (about 11 characters a line) beside its value (about
        // 24), a control (button, input) two lines.
        const cellLines = (td) => Math.max(1, Math.ceil((td.dataset.label || '').length / 11), Math.ceil(td.textContent.length / 24))
          + (td.querySelector('button, input, select') ? 2 : 0);
        const lines = phone ? cells.reduce((n, td) => n + cellLines(td), 0) : 4;
        return [tr.getBoundingClientRect().height, lines * 26 + 16, tr.textContent.slice(0, 60)];
      }).filter(([height, limit]) => height > limit), label === 'phone');
      assert.deepEqual(tall, [], `${name} at ${label} width has rows taller than their content`);
    }
  }
  // Each part of Settings, on its own, fits in a few screens even on a phone.
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await gotoPage('settings');
    for (const part of ['firewall', 'responsive', 'ami', 'pbx', 'found', 'ruleset']) {
      await page.locator(`#settings-part-${part}`).click();
      await page.locator(`#settings-part-${part}[aria-pressed="true"]`).waitFor();
      await page.screenshot({ path: join(shots, `settings-${part}-${label}.png`), fullPage: true });
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      const limit = label === 'phone' ? 3 * PHONE.height : 2 * DESKTOP.height;
      assert.ok(height <= limit, `Settings, ${part}, is ${height}px tall at ${label} width (at most ${limit})`);
    }
  }
  phase('screenshots');
  assert.deepEqual(pageErrors, [], 'errors in the page');
  let last = started;
  for (const [name, t] of phases) {
    console.log(`${name.padEnd(30)} ${((t - last) / 1000).toFixed(1)} s`);
    last = t;
  }
  console.log(`browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots}`);
} catch (e) {
  // The page's own errors usually say why a wait timed out.
  if (pageErrors.length) console.error(`errors in the page:\n${pageErrors.join('\n')}`);
  if (debugPage) {
    console.error(`the page's notice: ${await debugPage.locator('#notice').innerText().catch(() => '?')}`);
    await debugPage.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  }
  throw e;
} finally {
  if (browser) await browser.close();
  server.stdin.end();
  server.kill();
  rmSync(work, { recursive: true, force: true });
}
