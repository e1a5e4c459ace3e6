// Browser test of the web UI: log in, switch off and on, a replayed scanner appears as blocked
// with its reason, unblock it, change a service's zones and see the ruleset change. Screenshots
// of every page at desktop and phone width go to <out>/screenshots.
// Usage: node ui_test.mjs WEB_TEST_SERVER WEB_ROOT OUT_DIR
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [serverBin, webRoot, outDir] = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), 'pbxwall-ui-'));
const shots = join(outDir, 'screenshots');
mkdirSync(shots, { recursive: true });
writeFileSync(join(work, 'pbxwall.toml'), '[networks]\n"198.51.100.200" = "trusted"\n');

const server = spawn(serverBin, [work, webRoot], { stdio: ['pipe', 'pipe', 'inherit'] });
let out = '';
const waitFor = (pattern, ms = 20000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`server did not print ${pattern}`)), ms);
  const check = () => { const m = out.match(pattern); if (m) { clearTimeout(timer); server.stdout.off('data', onData); resolve(m); } };
  const onData = (d) => { out += d; check(); };
  server.stdout.on('data', onData);
  check();
});

let browser;
try {
  const port = (await waitFor(/port (\d+)/))[1];
  const base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${join(work, 'profile')}`],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', (d) => d.accept());
  page.setDefaultTimeout(15000);

  // Log in (a wrong password first).
  await page.goto(base + '/');
  await page.getByLabel('Admin password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('wrong password').waitFor();
  await page.getByLabel('Admin password').fill('correct horse');
  await page.getByRole('button', { name: 'Log in' }).click();
  const power = page.getByRole('switch');
  await power.waitFor();
  assert.equal(await power.getAttribute('aria-checked'), 'true');

  // Off and on.
  await power.click();
  await page.waitForFunction(() => document.querySelector('#power')?.getAttribute('aria-checked') === 'false');
  assert.match(readFileSync(join(work, 'pbxwall.toml'), 'utf8'), /enabled = false/);
  await page.getByRole('switch').click();
  await page.waitForFunction(() => document.querySelector('#power')?.getAttribute('aria-checked') === 'true');

  // A replayed scanner probe is blocked with its reason.
  await page.goto(base + '/#responsive');
  await page.getByRole('heading', { name: 'Responsive firewall' }).waitFor();
  server.stdin.write('scanner 192.0.2.66\n');
  await waitFor(/fed 192\.0\.2\.66/);
  const row = page.getByRole('row').filter({ hasText: '192.0.2.66' });
  await row.waitFor();
  assert.match(await row.innerText(), /friendly-scanner/);
  await page.screenshot({ path: join(shots, 'responsive-blocked-desktop.png'), fullPage: true });
  await page.getByRole('button', { name: 'Unblock 192.0.2.66' }).click();
  await page.getByText('Blocked sources: none.').waitFor();

  // A service's zones change reaches the ruleset.
  const before = readFileSync(join(work, 'ruleset.nft'), 'utf8');
  await page.goto(base + '/#services');
  const ssh = page.getByRole('form', { name: 'Zones of ssh' });
  await ssh.getByLabel('other').check();
  await ssh.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Done: service ssh opened to: local, other.').waitFor();
  const after = readFileSync(join(work, 'ruleset.nft'), 'utf8');
  assert.notEqual(after, before, 'the ruleset did not change');
  assert.match(readFileSync(join(work, 'pbxwall.toml'), 'utf8'), /\[services\.ssh\]\nzones = \["local", "other"\]/);

  // Screenshots of every page, desktop and phone.
  for (const [label, size] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(size);
    for (const name of ['home', 'responsive', 'zones', 'interfaces', 'services', 'extensions', 'settings']) {
      await page.goto(`${base}/#${name}`);
      await page.locator('#page h2').waitFor();
      await page.screenshot({ path: join(shots, `${name}-${label}.png`), fullPage: true });
    }
  }
  console.log(`browser test passed; screenshots in ${shots}`);
} finally {
  if (browser) await browser.close();
  server.stdin.end();
  server.kill();
  rmSync(work, { recursive: true, force: true });
}
