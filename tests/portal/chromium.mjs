// Debian's Chromium driven by playwright-core (no browser is ever downloaded), a watch over every
// browser context (no request may leave loopback, every page must carry a Content-Security-Policy,
// no policy violation or script error), and logging in on Dan's pages as a person would: national
// ID and password, then the authenticator app's code when the service asks for substantial
// assurance. Used by portal.mjs.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { freshCode } from '../support/totp.mjs';

export const kChromium = '/usr/bin/chromium';
const kArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  if (!existsSync(kChromium)) throw new Error(`no Chromium at ${kChromium} (apt-get install chromium)`);
  return chromium.launch({ executablePath: kChromium, args: kArgs });
}

// Dan's texts (src/identity/login_pages.cpp, English).
export const kDan = {
  login: '/dan/login',
  otp: '/dan/login/otp',
  nationalId: 'National ID',
  password: 'Password',
  logIn: 'Log in',
  code: /6-digit code/,
  verify: 'Verify',
  allow: /^(allow|approve|accept|agree|continue|yes)\b/i,
};

const kLoopback = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const kLocalSchemes = new Set(['data:', 'blob:', 'about:']);

// Watches browser contexts; problems() says what went wrong in any of them.
export class Watch {
  #offsite = [];
  #pages = []; // promises of {url, status, csp}
  #console = [];

  attach(context) {
    context.on('request', (r) => {
      const url = new URL(r.url());
      if (!kLocalSchemes.has(url.protocol) && !kLoopback.has(url.hostname)) this.#offsite.push(r.url());
    });
    context.on('response', (r) => {
      const status = r.status();
      if (r.request().resourceType() !== 'document' || (status >= 300 && status < 400)) return;
      this.#pages.push(
        r.headerValue('content-security-policy').then(
          (csp) => ({ url: r.url(), status, csp }),
          () => ({ url: r.url(), status, csp: null }),
        ),
      );
    });
    context.on('page', (page) => {
      page.on('console', (m) => {
        if (/Content[- ]Security[- ]Policy/i.test(m.text())) this.#console.push(`${page.url()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => this.#console.push(`${page.url()}: script error ${e.message}`));
    });
  }

  offsite() {
    return [...new Set(this.#offsite)];
  }

  async pages() {
    return Promise.all(this.#pages);
  }

  console() {
    return [...new Set(this.#console)];
  }
}

function path(page) {
  return new URL(page.url()).pathname;
}

async function errorText(page) {
  const shown = await page.locator('.error, [role=alert]').allTextContents();
  return shown.join(' ').trim() || (await page.locator('main').innerText()).slice(0, 200);
}

// On Dan's login pages (the browser is at /dan/login... or /oidc/...): logs `person` in (national ID and
// password; the current code of the authenticator app when Dan asks for it; "allow" on a consent
// page) and returns once the browser has left them. `person.totpLastStep` is moved on when a code
// is used, since Dan takes each step's code once.
export async function logInAtDan(page, person) {
  const seen = new Set();
  for (let turn = 0; turn < 8; turn++) {
    await page.waitForLoadState('load');
    const at = path(page);
    if (!at.startsWith(kDan.login) && !at.startsWith('/oidc/')) return;
    if (seen.has(at)) throw new Error(`Dan refused at ${at}: ${await errorText(page)}`);
    seen.add(at);
    if (at === kDan.login) {
      await page.getByLabel(kDan.nationalId, { exact: true }).fill(person.nationalId);
      await page.getByLabel(kDan.password, { exact: true }).fill(person.password);
      await page.getByRole('button', { name: kDan.logIn, exact: true }).click();
    } else if (at === kDan.otp) {
      if (!person.totpSecret) throw new Error(`Dan asks ${person.nationalId} for a second factor`);
      const field = page.getByLabel(kDan.code);
      if ((await field.count()) === 0) throw new Error(`no code field at ${at}: ${await errorText(page)}`);
      const { code, step } = await freshCode(person.totpSecret, person.totpLastStep);
      await field.fill(code);
      person.totpLastStep = step;
      await page.getByRole('button', { name: kDan.verify, exact: true }).click();
    } else {
      const allow = page.getByRole('button', { name: kDan.allow });
      if ((await allow.count()) === 0) throw new Error(`stuck on Dan's page ${page.url()}: ${await errorText(page)}`);
      await allow.first().click();
    }
  }
  throw new Error(`still on Dan's pages at ${page.url()}`);
}
