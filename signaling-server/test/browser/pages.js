// The web client as a person sees it in chromium: open a page with its own
// identity, wait for a state, read what is visible, take screenshots.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './native.js';

/**
 * A fresh folder for a test's screenshots and recordings, under the repo's
 * git-ignored target/ (VOICECALL_TEST_OUTPUT picks another root).
 */
export function outputDir(name) {
  const dir = join(process.env.VOICECALL_TEST_OUTPUT || join(REPO, 'target', 'test-output'), 'web', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The web client at `url` in its own browser context (own localStorage = own
 * identity), once it has its ID. Page errors and console errors are collected
 * in `errors`; requests to anything but the server in `foreign`.
 * @param {{ browser: import('puppeteer-core').Browser }} chromium from launchChromium
 * @param {string} url
 * @param {{ name: string, viewport?: { width: number, height: number }, microphone?: 'granted' | 'denied' }} opts
 */
export async function openPage(chromium, url, { name, viewport = { width: 1280, height: 800 }, microphone } = {}) {
  const context = await chromium.browser.createBrowserContext();
  if (microphone) await context.setPermission(new URL(url).origin, { permission: { name: 'microphone' }, state: microphone });
  const page = await context.newPage();
  await page.setViewport(viewport);
  const errors = [];
  const foreign = [];
  page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${name} console: ${msg.text()}`);
  });
  const ws = url.replace(/^http/, 'ws');
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(url) && !u.startsWith(ws) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.voicecallTest?.state === 'idle', { timeout: 10_000 });
  const id = await page.evaluate(() => window.voicecallTest.id);
  return { page, id, name, errors, foreign, context };
}

/** Waits until the page's call phase is `want` (voicecallTest.state). */
export const waitState = (c, want, timeout = 10_000) =>
  c.page.waitForFunction((w) => window.voicecallTest.state === w, { timeout }, want).catch(async (err) => {
    const seen = await c.page.evaluate(() => ({ state: window.voicecallTest.state, log: window.voicecallTest.log, lastError: window.voicecallTest.lastError })).catch(() => null);
    throw new Error(`${c.name}: waiting for state ${want}: ${err.message}; page: ${JSON.stringify(seen)}`);
  });

/** Waits until the server connection is `want` (voicecallTest.server). */
export const waitServer = (c, want, timeout = 10_000) =>
  c.page.waitForFunction((w) => window.voicecallTest.server === w, { timeout }, want);

/**
 * Which of the state panels a person can see: every [data-screen] section and
 * the offline notice, by the browser's own verdict (display, visibility,
 * opacity) and a non-empty box.
 */
export function visiblePanels(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-screen], #offline')]
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && box.width > 0 && box.height > 0;
      })
      .map((el) => el.id),
  );
}

/** Elements carrying the hidden attribute that the browser still renders (must be none). */
export function hiddenYetRendered(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[hidden]')]
      .filter((el) => getComputedStyle(el).display !== 'none' || el.getClientRects().length > 0)
      .map((el) => `${el.tagName.toLowerCase()}#${el.id}`),
  );
}

/** The text of `selector` if a person can see it, else null. */
export function visibleText(page, selector) {
  return page.$eval(selector, (el) => {
    const box = el.getBoundingClientRect();
    return el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && box.width > 0 && box.height > 0 ? el.textContent.trim().replace(/\s+/g, ' ') : null;
  });
}

/** Labels of the buttons a person can see, in page order. */
export function visibleButtons(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('button')]
      .filter((el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && el.getBoundingClientRect().width > 0)
      .map((el) => `${el.textContent.trim()}${el.disabled ? ' (disabled)' : ''}`),
  );
}

/**
 * Layout problems a person would see at this width: a page wider than the
 * viewport (sideways scrolling), visible elements cut off at the right edge.
 */
export function layoutProblems(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const problems = [];
    if (document.documentElement.scrollWidth > width) problems.push(`page is ${document.documentElement.scrollWidth} px wide in a ${width} px viewport`);
    for (const el of document.querySelectorAll('button, input, code, h1, h2, p, label')) {
      if (!el.checkVisibility()) continue;
      const box = el.getBoundingClientRect();
      if (box.width > 0 && (box.left < 0 || box.right > width + 0.5)) problems.push(`${el.tagName.toLowerCase()}#${el.id} spans ${Math.round(box.left)}…${Math.round(box.right)} px`);
    }
    return problems;
  });
}

/** A full-page PNG in `dir`; returns its path. */
export async function screenshot(page, dir, name) {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
