// Drives the Microsoft 365 Agents Playground's web UI in headless Debian chromium, one command
// at a time, for tests/test_teams_e2e.py.
//
// Protocol: one JSON command per line on stdin, one JSON result per line on stdout:
//   {"cmd": "open", "url": "http://127.0.0.1:56150/"}
//   {"cmd": "chat", "name": "Personal Chat"}        switch conversation in the left rail
//   {"cmd": "send", "text": "...", "mention": "Test Bot"}   type (optionally @mention) and send
//   {"cmd": "post", "text": "...", "mention": "Test Bot"}   a new channel post
//   {"cmd": "click", "name": "Ask the monitoring officer"}  the last button with that name
//   {"cmd": "clickText", "text": "Can I ask"}     click the last element showing that text
//   {"cmd": "fill", "label": "Anything the monitoring officer", "value": "..."}
//   {"cmd": "waitText", "text": "clause 2.3", "timeout": 20000}
//   {"cmd": "count", "text": "..."}                 how many elements show that text
//   {"cmd": "screenshot", "path": "/tmp/x.png"}
//   {"cmd": "close"}
// Results: {"ok": true, ...} or {"ok": false, "error": "..."}.
//
// Env: CHROMIUM (default /usr/bin/chromium), PROFILE_DIR (a fresh --user-data-dir).

import { chromium } from 'playwright-core';
import readline from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const profile = process.env.PROFILE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'pb-chromium-'));
// Without these, chromium waits on the network this machine does not have.
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

let context;
let page;
const pageErrors = [];

function regex(text) {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
}

// The compose box: in a chat there is one; in a channel the first is "Start a new post" (the
// others reply in threads).
async function editor(which = 'last') {
  const boxes = page.locator('[data-lexical-editor="true"]');
  const box = which === 'first' ? boxes.first() : boxes.last();
  await box.click();
  return box;
}

async function typeWithMention(mention) {
  if (!mention) return;
  await page.keyboard.type('@' + mention.slice(0, 4));
  await page.getByRole('menuitem', { name: mention }).first().click();
  await page.keyboard.type(' ');
}

const commands = {
  async open({ url }) {
    context = await chromium.launchPersistentContext(profile, {
      executablePath, headless: true, args, viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20000);
    page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator('[data-lexical-editor="true"]').first().waitFor({ state: 'visible' });
    return {};
  },
  async chat({ name }) {
    await page.getByText(name, { exact: true }).first().click();
    await page.locator('[data-lexical-editor="true"]').last().waitFor({ state: 'visible' });
    return {};
  },
  async send({ text, mention }) {
    await editor();
    await typeWithMention(mention);
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    return {};
  },
  async post({ text, mention }) {
    await editor('first');
    await typeWithMention(mention);
    await page.keyboard.type(text);
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    return {};
  },
  async click({ name, exact = true }) {
    const button = page.getByRole('button', { name, exact }).last();
    await button.scrollIntoViewIfNeeded();
    await button.click();
    return {};
  },
  async clickText({ text }) {
    const target = page.getByText(regex(text)).last();
    await target.scrollIntoViewIfNeeded();
    await target.click();
    return {};
  },
  async fill({ label, value }) {
    const input = page.getByLabel(regex(label)).last();
    await input.fill(value);
    return {};
  },
  async waitText({ text, timeout = 20000 }) {
    await page.getByText(regex(text)).last().waitFor({ state: 'visible', timeout });
    return {};
  },
  async count({ text }) {
    return { count: await page.getByText(regex(text)).count() };
  },
  async screenshot({ path: file }) {
    await page.screenshot({ path: file, fullPage: true });
    return { path: file };
  },
  async close() {
    if (context) await context.close();
    context = undefined;
    return {};
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let result;
  try {
    const command = JSON.parse(line);
    const run = commands[command.cmd];
    if (!run) throw new Error(`unknown command ${command.cmd}`);
    result = { ok: true, ...(await run(command)) };
  } catch (error) {
    result = { ok: false, error: String(error && error.message || error).slice(0, 2000) };
  }
  if (pageErrors.length) result.pageErrors = pageErrors.splice(0);
  process.stdout.write(JSON.stringify(result) + '\n');
  if (line.includes('"close"')) break;
}
if (context) await context.close();
process.exit(0);
