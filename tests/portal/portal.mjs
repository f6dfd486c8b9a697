// The citizen portal and the officer workspace in Debian's Chromium (playwright-core, no test
// runner): a citizen logs in through Dan, sees their data, applies for an address reference,
// downloads the PDF and finds the registry read in "who used my data"; consents to a health
// record being read for an application and withdraws the consent; applies for a change of
// address (with markup in a field, which every page must show as text) that an officer (password
// and authenticator app) takes up and approves, and finds among their own actions; the citizen's
// notices and "mark all as read"; a second citizen cannot see the first one's application or
// document; the officer files for the second citizen at the one-stop desk with the code texted to
// them; forms posted with a stale CSRF token are refused; logged-out visitors are sent to Dan; the
// home page in Mongolian and back; the skip link, labels and a phone width; axe-core's WCAG 2.1
// A/AA rules on the main pages as they are reached (axe.mjs); the session and login cookies
// (browser-session, HttpOnly, SameSite=Lax; the login's gone once it is done) and no-store on the
// logged-in pages; a login's callback URL taken from one browser logs no other browser in (login
// CSRF); no request leaves loopback and every page carries a Content-Security-Policy.
//   node portal.mjs BASE_URL PEOPLE.json DATA_DIR ULUS_BINARY
// PEOPLE.json is what people.mjs printed; `ULUS_BINARY --data DATA_DIR messages` shows the texts
// the desk sends (as people.mjs reads the sign-up codes).
// Env PORTAL_SCREENSHOTS=DIR saves full-page screenshots of the main pages there.
// Prints TAP lines; exits 1 when any check fails.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { axeRun, describeViolations } from './axe.mjs';
import { launch, logInAtDan, Watch } from './chromium.mjs';

// --- What the portal renders (the lead's C++ in src/portal): texts, URLs, selectors ------------

const P = {
  lang: 'en',
  // A Mongolian browser: English is chosen once with ?lang=en and must be remembered (the cookie
  // also has to reach Dan's pages, which read `lang`).
  locale: 'mn-MN',
  desktop: { width: 1280, height: 900 },
  phone: { width: 360, height: 740 },
  url: {
    home: '/',
    catalogue: (q) => `/catalogue?q=${encodeURIComponent(q)}`,
    service: (id) => `/catalogue/${id}`,
    myData: '/my/data',
    dataUsage: '/my/data-usage',
    myApplications: '/my/applications',
    application: (id) => `/my/applications/${id}`,
    applicationPath: /^\/my\/applications\/([^/?#]+)$/,
    pdfPath: /^\/my\/documents\/([^/?#]+)\/pdf$/,
    pdf: (docId) => `/my/documents/${docId}/pdf`,
    inbox: '/my/inbox',
    consents: '/my/consents',
    apply: (id) => `/catalogue/${id}/apply`,
    work: '/work',
    workApplication: (id) => `/work/applications/${id}`,
    desk: '/work/desk',
    actions: '/work/actions',
    danLogin: '/dan/login',
    portalLogin: (next) => `/portal/login?next=${encodeURIComponent(next)}`,
    callback: '/portal/callback',
  },
  // The portal's cookies over plain HTTP (behind https they are __Host-ulus-portal...): the
  // session's has no Max-Age (closing the browser ends it); the login in flight's lasts 15 minutes
  // (src/portal/portal.cpp, Login and Callback).
  cookie: { session: 'ulus-portal', login: 'ulus-portal-login', loginLifetime: 15 * 60, sameSite: 'Lax' },
  // Pages with a person's data must not be kept by the browser's or a proxy's cache.
  noStore: /(^|,)\s*no-store\s*(,|$)/i,
  text: {
    skip: 'Skip to content',
    logIn: 'Log in',
    logOut: 'Log out',
    apply: 'Apply',
    downloadPdf: 'Download PDF',
    myData: 'My data',
    dataUsage: 'Who used my data',
    workInbox: 'Inbox',
    takeUp: 'Take up',
    approve: 'Approve',
    notFound: 'Not found',
    submitted: 'Submitted',
    inReview: 'In review',
    completed: 'Completed',
    welcome: 'Government services in one place',
    english: 'English',
    // Consents (the service's form and /my/consents).
    consentNeeded: 'This service reads data that is shared only with your consent:',
    iConsent: 'I consent to this data being read for this application',
    consents: 'Consents',
    purpose: 'Purpose',
    state: 'State',
    given: 'Given',
    withdrawConsent: 'Withdraw',
    consentWithdrawn: 'Withdrawn',
    // Notices.
    inbox: 'Inbox',
    unread: 'New:',
    markRead: 'Mark all as read',
    // A posted form whose CSRF token is not the session's.
    forbidden: 'Not allowed',
    // A callback without this browser's login in flight (src/portal/portal.cpp, Callback).
    loginElsewhere: 'this login has expired or was started in another browser',
    // The one-stop desk and the officer's own actions.
    desk: 'One-stop desk',
    nationalId: 'National ID',
    service: 'Service',
    sendCode: 'Send the code',
    codeSent: 'The code was sent to',
    code: 'The code the citizen reads out',
    file: 'File the application',
    filedFor: 'Filed for the citizen:',
    myActions: 'My actions',
    action: 'Action',
  },
  // The language the pack prefers, with its home page title.
  mn: { lang: 'mn', welcome: 'Төрийн үйлчилгээ нэг дор' },
  css: {
    header: 'header',
    main: 'main#main',
    state: '.state',
  },
  // From the mn pack (packs/mn/registries/person.yaml, packs/mn/services/gasr.yaml).
  personRegistry: 'Population register',
  reference: { id: 'address-reference', name: 'Reference of registered address', search: 'address' },
  review: {
    id: 'address-change',
    name: 'Registration of a change of address',
    fields: [
      ['New address: province or capital', 'Ulaanbaatar'],
      ['Town, soum or district', 'Bayanzürkh'],
      ['Bag or khoroo', '5th khoroo'],
      // Markup a page must show as text: were it HTML, the officer's page would have an <img>
      // and the console a policy violation (script-src 'none').
      ['Street or microdistrict', '<img src=x onerror=alert(1)>'],
      ['Building or plot number', '12'],
      ['Apartment number', '34'],
    ],
    markupField: 'Street or microdistrict',
    // The officer's events in /work/actions: the action (as the portal words it) and the state it
    // led to.
    actions: [['Taken up', 'In review'], ['Approve', 'Completed']],
  },
  // packs/mn/exchange.yaml: health is read only with the person's consent; packs/mn/services/
  // hdc.yaml: the medical record summary reads it and is given at once (automatic).
  consent: { id: 'medical-record', name: 'Medical record summary', registry: 'Health records' },
  // The desk's text to the citizen (src/services/applications.cpp, StartDeskFiling).
  deskSms: /this code: (\d{6})\b/,
  maskedPhone: /\*+(\d{4})\b/,
};

// --- TAP ----------------------------------------------------------------------------------------

const [baseArg, peopleFile, dataDir, ulus] = process.argv.slice(2);
if (!baseArg || !peopleFile || !dataDir || !ulus) {
  console.error('usage: node portal.mjs BASE_URL PEOPLE.json DATA_DIR ULUS_BINARY');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error(`not a base URL: ${baseArg}`);
  process.exit(2);
}
const people = JSON.parse(readFileSync(peopleFile, 'utf8'));
const shots = process.env.PORTAL_SCREENSHOTS || '';
if (shots) mkdirSync(shots, { recursive: true });

let counter = 0;
let failures = 0;
const short = (text, n = 600) => String(text).replace(/\s+/g, ' ').trim().slice(0, n);

// `lines` (a failure's findings, one a line) are printed after the detail.
function report(ok, name, detail, lines = []) {
  counter++;
  console.log(`${ok ? 'ok' : 'not ok'} ${counter} - ${name}`);
  if (!ok) {
    failures++;
    if (detail) console.log(`#   ${short(detail, 1200)}`);
    for (const line of lines) console.log(`#     ${short(line, 1200)}`);
  }
  return ok;
}

// Runs one check; an exception fails it with the message and where the page was. `needs` are
// values from earlier checks: when one is missing the check is skipped (the earlier one failed).
async function check(name, needs, fn, page) {
  if (needs.some((v) => v === undefined || v === null || v === '')) {
    counter++;
    console.log(`ok ${counter} - ${name} # SKIP an earlier check failed`);
    return undefined;
  }
  try {
    const value = await fn();
    report(true, name);
    return value ?? true;
  } catch (e) {
    let where = '';
    if (page && e.lines) {
      where = ` [at ${page.url()}]`;
    } else if (page) {
      try {
        where = ` [at ${page.url()}: ${short(await page.locator('body').innerText({ timeout: 2000 }), 300)}]`;
      } catch {
        where = page.url ? ` [at ${page.url()}]` : '';
      }
    }
    report(false, name, `${e.message?.split('\n')[0] ?? e}${where}`, e.lines);
    return undefined;
  }
}

function expect(ok, what) {
  if (!ok) throw new Error(what);
}

// --- Helpers ------------------------------------------------------------------------------------

const pathOf = (page) => new URL(page.url()).pathname;

async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, name), fullPage: true });
}

async function go(page, url, status = 200) {
  const response = await page.goto(url);
  expect(response, `no response for ${url}`);
  expect(response.status() === status, `GET ${url} answered ${response.status()}, not ${status}`);
  return response;
}

async function h1(page) {
  return short(await page.locator('h1').first().innerText());
}

async function stateText(page) {
  return short(await page.locator(P.css.state).first().innerText());
}

// Waits (a few seconds at most) for the application's state element to name `state`.
async function expectState(page, state) {
  const element = page.locator(P.css.state).filter({ hasText: new RegExp(`\\b${state}\\b`) });
  try {
    await element.first().waitFor({ timeout: 5000 });
  } catch {
    throw new Error(`the state is not "${state}" but "${await stateText(page).catch(() => '(no state element)')}"`);
  }
}

// Every form control a person fills that has no associated <label>.
async function unlabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => !['hidden', 'submit', 'button', 'reset', 'image'].includes((e.type || '').toLowerCase()))
      .filter((e) => !(e.labels && e.labels.length > 0))
      .map((e) => e.outerHTML.slice(0, 120)),
  );
}

// One TAP check: axe-core finds no WCAG 2.1 A or AA violation on the page `at` shows (after
// `open`, when given, has brought it there). A failure lists each violation: the rule, its impact,
// the first offending element's selector and markup. What axe could not decide is printed as a
// comment, for a person to review.
async function accessible(what, needs, at, open) {
  return check(`axe: ${what} has no WCAG 2.1 A/AA violation`, needs, async () => {
    if (open) await open();
    const { violations, incomplete } = await axeRun(at);
    for (const line of incomplete) console.log(`# axe could not decide on ${pathOf(at)}: ${short(line, 600)}`);
    if (violations.length > 0) {
      const e = new Error(`${violations.length} rule(s) violated: ${violations.map((v) => v.id).join(', ')}`);
      e.lines = describeViolations(violations);
      throw e;
    }
  }, at);
}

async function newContext(browser, viewport = P.desktop, extra = {}) {
  const context = await browser.newContext({ baseURL: base, viewport, locale: P.locale, ...extra });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(30000);
  watch.attach(context);
  return { context, page: await context.newPage() };
}

// The browser's cookie of the portal named `name`, or undefined.
async function cookieOf(context, name) {
  return (await context.cookies(base)).find((c) => c.name === name);
}

// Presses the header's "Log in", logs in on Dan's pages and checks the portal brought the browser
// back to the page the link named as next (default /my). Returns the login cookie the browser held
// while at Dan's (undefined when it held none).
async function logInFromHeader(page, person) {
  const link = page.locator(P.css.header).getByRole('link', { name: P.text.logIn, exact: true });
  const next = new URL(await link.getAttribute('href'), base).searchParams.get('next') || '/my';
  await link.click();
  await page.waitForLoadState('load');
  expect(pathOf(page).startsWith('/dan/login'), `"Log in" led to ${page.url()}, not Dan's login page`);
  const inFlight = await cookieOf(page.context(), P.cookie.login);
  await logInAtDan(page, person);
  expect(new URL(page.url()).origin === new URL(base).origin, `the login ended on ${page.url()}`);
  const wanted = new URL(next, base).pathname;
  expect(pathOf(page) === wanted, `after the login the portal is at ${page.url()}, not ${wanted}`);
  return inFlight;
}

// Keeps `context`'s logins from reaching the portal's callback, as an attacker would to hand the
// callback URL to someone else. A route sees only the first request of a navigation, not the
// redirects that follow, so each navigation to the portal's origin is fetched here and its
// redirects followed one by one (with the context's cookies); the one that would open
// /portal/callback is recorded in `held.url` and the browser is sent to the home page instead.
// release() removes the route.
async function holdCallbacks(context) {
  const origin = new URL(base).origin;
  const held = {};
  const isCallback = (url) => url.origin === origin && url.pathname === P.url.callback;
  const hold = (route, url) => {
    held.url = url.href;
    return route.fulfill({ status: 303, headers: { Location: `${base}${P.url.home}` } });
  };
  const matches = (url) => url.origin === origin;
  const handler = async (route) => {
    const request = route.request();
    if (!request.isNavigationRequest()) return route.fallback();
    let url = new URL(request.url());
    if (isCallback(url)) return hold(route, url);
    let response = await route.fetch({ maxRedirects: 0 });
    let hops = 0;
    while (response.status() >= 300 && response.status() < 400 && response.headers().location && hops < 10) {
      const next = new URL(response.headers().location, url);
      if (isCallback(next)) return hold(route, next);
      url = next;
      hops++;
      response = await context.request.get(url.href, { maxRedirects: 0 });
    }
    // No redirect: the answer as it is. After redirects: the browser goes to where they ended.
    if (hops === 0) return route.fulfill({ response });
    return route.fulfill({ status: 303, headers: { Location: url.href } });
  };
  await context.route(matches, handler);
  return { held, release: () => context.unroute(matches, handler) };
}

// A fresh browser: chooses English once, logs `person` in from the header's link and returns on
// the portal.
async function citizenLogsIn(browser, person) {
  const { context, page } = await newContext(browser);
  await go(page, `${P.url.home}?lang=${P.lang}`);
  await logInFromHeader(page, person);
  return { context, page };
}

// Ticks the required checkboxes of the form around `button` (a consent to the data read, when the
// service's registries need one) and presses it.
async function submitWith(page, name) {
  const button = page.getByRole('button', { name, exact: true });
  const boxes = page.locator('form').filter({ has: button }).locator('input[type=checkbox][required]');
  for (let i = 0; i < (await boxes.count()); i++) await boxes.nth(i).check();
  await button.click();
  await page.waitForLoadState('load');
}

// Fills the fields of the approve form (those the pack leaves to the officer) with plausible values.
async function fillOfficerFields(form) {
  const controls = form.locator('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea');
  const count = await controls.count();
  for (let i = 0; i < count; i++) {
    const control = controls.nth(i);
    if (!(await control.isVisible()) || !(await control.isEditable())) continue;
    const tag = await control.evaluate((e) => e.tagName.toLowerCase());
    const type = ((await control.getAttribute('type')) || 'text').toLowerCase();
    if (tag === 'select') {
      const values = await control.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      if (values.length) await control.selectOption(values[0]);
    } else if (type === 'checkbox' || type === 'radio') {
      await control.check();
    } else if (type === 'date') {
      await control.fill(new Date().toISOString().slice(0, 10));
    } else if (type === 'number') {
      await control.fill('1');
    } else {
      await control.fill('Checked by the registrar (portal e2e)');
    }
  }
  return count;
}

// The body rows of main's first table, each as {header text: cell text} plus the row's buttons
// and links (their hrefs).
async function tableRows(page) {
  const table = page.locator(`${P.css.main} table`).first();
  if ((await table.count()) === 0) return [];
  return table.evaluate((t) => {
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    return [...t.querySelectorAll('tbody tr')].map((tr) => {
      const row = { buttons: [], links: [] };
      [...tr.children].forEach((cell, i) => {
        row[heads[i] || `#${i}`] = cell.textContent.trim();
      });
      row.buttons = [...tr.querySelectorAll('button')].map((b) => b.textContent.trim());
      row.links = [...tr.querySelectorAll('a')].map((a) => a.getAttribute('href'));
      return row;
    });
  });
}

// The value of main's <dt>`term`</dt><dd>…</dd>, or undefined.
async function definition(page, term) {
  return page.locator(P.css.main).evaluate((main, term) => {
    const dt = [...main.querySelectorAll('dt')].find((e) => e.textContent.trim() === term);
    return dt?.nextElementSibling?.textContent.trim();
  }, term);
}

// How many applications /my/applications lists (the first page is enough for this test).
async function applicationCount(page) {
  await go(page, P.url.myApplications);
  return (await tableRows(page)).length;
}

// A form posted as a stale window would: the session's cookie and the portal's own Origin, but
// not the session's CSRF token.
async function postStale(page, url, fields) {
  return page.request.post(base + url, {
    form: { csrf: `stale-${randomBytes(8).toString('hex')}`, ...fields },
    headers: { Origin: base },
    maxRedirects: 0,
  });
}

// The code of the desk's newest text to `phone` (`ulus messages`, as people.mjs reads the
// sign-up codes). Waits a few seconds for the text, and longer while the binary cannot be run
// (a rebuild replacing it).
async function deskCode(phone) {
  const started = Date.now();
  let last = '';
  for (;;) {
    let busy = false;
    try {
      last = execFileSync(ulus, ['--log-level', 'warn', '--data', dataDir, 'messages', '--to', phone, '--limit', '1'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      busy = ['ENOENT', 'EACCES', 'ETXTBSY'].includes(e.code);
      last = `ulus messages: ${e.stderr?.trim() || e.message}`;
    }
    const code = last.match(P.deskSms)?.[1];
    if (code) return code;
    if (Date.now() - started > (busy ? 120000 : 10000)) break;
    await new Promise((resolve) => setTimeout(resolve, busy ? 1000 : 200));
  }
  throw new Error(`no desk code reached ${phone}; the newest message: ${short(last, 300)}`);
}

// --- The run ------------------------------------------------------------------------------------

const watch = new Watch();
const browser = await launch();
const A = people.citizenA;
const B = people.citizenB;
const officer = people.officer;

console.log(`# portal at ${base}; citizen A ${A.nationalId}, citizen B ${B.nationalId}, officer ${officer.nationalId}`);

// a. Citizen A logs in.
const { context: contextA, page } = await newContext(browser);
await check('the home page answers in English when asked once (?lang=en)', [], async () => {
  await go(page, `${P.url.home}?lang=${P.lang}`);
  expect((await page.evaluate(() => document.documentElement.lang)) === P.lang, 'html lang is not en');
  await page.locator(P.css.main).waitFor();
  await shot(page, 'portal-home.png');
}, page);
await check('keyboard: the first Tab on the home page focuses "Skip to content", pointing at main', [], async () => {
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const e = document.activeElement;
    return { tag: e?.tagName, text: e?.textContent?.trim(), href: e?.getAttribute('href') };
  });
  expect(focused.tag === 'A' && focused.text === P.text.skip && focused.href === '#main',
    `the first Tab focuses ${JSON.stringify(focused)}`);
}, page);
await accessible('the home page (/)', [], page, async () => {
  if (pathOf(page) !== P.url.home) await go(page, P.url.home);
});
let loginCookieA;
const loggedInA = await check('citizen A logs in: "Log in" leads to Dan, Dan back to the page the link named', [], async () => {
  loginCookieA = await logInFromHeader(page, A);
}, page);
await check('logged in, the header has a "Log out" button and the language stayed English', [loggedInA], async () => {
  await page.locator(P.css.header).getByRole('button', { name: P.text.logOut, exact: true }).waitFor();
  expect((await page.evaluate(() => document.documentElement.lang)) === P.lang,
    'the page after login is not in English: the language cookie was not remembered');
}, page);
// Playwright's cookies: expires -1 is a browser-session cookie, else seconds since the epoch.
const cookieFlags = (c) => `expires ${c.expires}, HttpOnly ${c.httpOnly}, SameSite ${c.sameSite}, Path ${c.path}`;
await check(`the session cookie ${P.cookie.session} is a browser-session cookie (no expiry), HttpOnly, SameSite=${P.cookie.sameSite}`, [loggedInA], async () => {
  const session = await cookieOf(contextA, P.cookie.session);
  expect(session, `no cookie ${P.cookie.session}: ${(await contextA.cookies(base)).map((c) => c.name).join(', ')}`);
  expect(session.expires === -1, `it is kept until ${new Date(session.expires * 1000).toISOString()} (${cookieFlags(session)})`);
  expect(session.httpOnly === true, `it is readable by scripts (${cookieFlags(session)})`);
  expect(session.sameSite === P.cookie.sameSite, `its SameSite is ${session.sameSite} (${cookieFlags(session)})`);
  expect(session.path === '/', `its Path is ${session.path}`);
}, page);
await check(`the login in flight (${P.cookie.login}) was HttpOnly, SameSite=${P.cookie.sameSite}, for at most 15 minutes, and is gone after the callback`, [loggedInA], async () => {
  expect(loginCookieA, `the browser held no cookie ${P.cookie.login} at Dan's login page`);
  expect(loginCookieA.httpOnly === true, `it was readable by scripts (${cookieFlags(loginCookieA)})`);
  expect(loginCookieA.sameSite === P.cookie.sameSite, `its SameSite was ${loginCookieA.sameSite} (${cookieFlags(loginCookieA)})`);
  const left = loginCookieA.expires - Date.now() / 1000;
  expect(loginCookieA.expires !== -1 && left > 0 && left <= P.cookie.loginLifetime + 5,
    `it was to last ${Math.round(left)} s (${cookieFlags(loginCookieA)}), not at most ${P.cookie.loginLifetime} s`);
  const after = await cookieOf(contextA, P.cookie.login);
  expect(!after, `after the callback the browser still holds it (${after && cookieFlags(after)})`);
}, page);

// b. My data.
await check('"My data" shows the population register with citizen A\'s national ID', [loggedInA], async () => {
  await go(page, P.url.myData);
  expect((await h1(page)) === P.text.myData, `h1 is "${await h1(page)}"`);
  const section = page.locator('section').filter({
    has: page.getByRole('heading', { level: 2, name: P.personRegistry }),
  });
  expect((await section.count()) >= 1, `no <section> with an h2 "${P.personRegistry}"`);
  const text = await section.first().innerText();
  expect(text.includes(A.nationalId), `the "${P.personRegistry}" section does not show ${A.nationalId}`);
  expect((await section.first().locator('table').count()) >= 1, 'the registry values are not in a table');
  await shot(page, 'portal-my-data.png');
}, page);
await accessible('"My data" (/my/data)', [loggedInA], page, async () => {
  if (pathOf(page) !== P.url.myData) await go(page, P.url.myData);
});

// c. Apply for an address reference (automatic: completed at once).
let referenceId;
let docId;
await accessible(`the catalogue search (${P.url.catalogue(P.reference.search)})`, [loggedInA], page, async () => {
  await go(page, P.url.catalogue(P.reference.search));
});
await check('the catalogue search for "address" links to the address reference; its page has "Apply"', [loggedInA], async () => {
  await go(page, P.url.catalogue(P.reference.search));
  await page.getByRole('link', { name: P.reference.name }).first().click();
  await page.waitForLoadState('load');
  expect(pathOf(page) === P.url.service(P.reference.id), `the link led to ${page.url()}`);
  expect((await h1(page)).includes(P.reference.name), `h1 is "${await h1(page)}"`);
  expect((await unlabelled(page)).length === 0, `fields without a label: ${await unlabelled(page)}`);
}, page);
referenceId = await check('citizen A applies: the application page says "Completed"', [loggedInA], async () => {
  await submitWith(page, P.text.apply);
  const id = pathOf(page).match(P.url.applicationPath)?.[1];
  expect(id, `after "Apply" the browser is at ${page.url()}, not /my/applications/{id}`);
  expect((await h1(page)).includes(P.reference.name), `h1 is "${await h1(page)}"`);
  await expectState(page, P.text.completed);
  return id;
}, page);
await check('the completed application links "Download PDF" and shows an inline SVG QR code', [referenceId], async () => {
  const link = page.getByRole('link', { name: P.text.downloadPdf });
  const href = await link.first().getAttribute('href');
  const pdfPath = new URL(href, base).pathname;
  docId = pdfPath.match(P.url.pdfPath)?.[1];
  expect(docId, `"Download PDF" points at ${href}`);
  expect((await page.locator(`${P.css.main} svg`).count()) >= 1, 'no inline <svg> in main');
  expect((await page.content()).includes('<svg'), 'the page has no inline <svg');
  await shot(page, 'portal-application.png');
}, page);
await accessible('the completed address reference with its QR code (/my/applications/{id})', [referenceId], page, async () => {
  if (pathOf(page) !== P.url.application(referenceId)) await go(page, P.url.application(referenceId));
});
await check('the PDF downloads and is a PDF (%PDF-)', [docId], async () => {
  const response = await contextA.request.get(base + P.url.pdf(docId));
  expect(response.status() === 200, `GET ${P.url.pdf(docId)} answered ${response.status()}`);
  const body = await response.body();
  expect(body.subarray(0, 5).toString('latin1') === '%PDF-', `starts with ${JSON.stringify(body.subarray(0, 8).toString('latin1'))}`);
  expect(/application\/pdf/.test(response.headers()['content-type'] ?? ''), `Content-Type ${response.headers()['content-type']}`);
});
await check('the logged-in pages ("My data", the application, its PDF) answer Cache-Control: no-store', [referenceId], async () => {
  const problems = [];
  for (const url of [P.url.myData, P.url.application(referenceId)]) {
    const response = await go(page, url);
    const cache = await response.headerValue('cache-control');
    if (!P.noStore.test(cache ?? '')) problems.push(`${url}: Cache-Control ${JSON.stringify(cache)}`);
  }
  if (docId) {
    const response = await contextA.request.get(base + P.url.pdf(docId));
    const cache = response.headers()['cache-control'];
    if (!P.noStore.test(cache ?? '')) problems.push(`${P.url.pdf(docId)}: Cache-Control ${JSON.stringify(cache)}`);
  }
  expect(problems.length === 0, problems.join('; '));
}, page);

// d. Who used my data.
await check('"Who used my data" lists the registry read of the application (services:address-reference/<id>)', [referenceId], async () => {
  await go(page, P.url.dataUsage);
  expect((await h1(page)) === P.text.dataUsage, `h1 is "${await h1(page)}"`);
  const purpose = `services:${P.reference.id}/${referenceId}`;
  const rows = page.locator('table tr').filter({ hasText: purpose });
  expect((await rows.count()) >= 1, `no table row mentions ${purpose}`);
  await shot(page, 'portal-data-usage.png');
}, page);
await accessible('"Who used my data" (/my/data-usage)', [loggedInA], page, async () => {
  if (pathOf(page) !== P.url.dataUsage) await go(page, P.url.dataUsage);
});

// d2. Consent: a service reading the health records, which Khur gives only with consent.
const consentForm = await check('a service reading health records asks for a required consent checkbox', [loggedInA], async () => {
  await go(page, P.url.service(P.consent.id));
  expect((await h1(page)).includes(P.consent.name), `h1 is "${await h1(page)}"`);
  const fieldset = page.locator(`${P.css.main} fieldset`).filter({ hasText: P.text.consentNeeded });
  expect((await fieldset.count()) === 1, `no fieldset says "${P.text.consentNeeded}"`);
  expect((await fieldset.locator('li').allInnerTexts()).map((t) => t.trim()).includes(P.consent.registry),
    `the consent's fieldset does not name "${P.consent.registry}"`);
  const box = page.getByLabel(P.text.iConsent, { exact: true });
  expect((await box.count()) === 1, `no control labelled "${P.text.iConsent}"`);
  expect((await box.getAttribute('type')) === 'checkbox', 'the consent is not a checkbox');
  expect((await box.getAttribute('required')) !== null, 'the consent checkbox is not required');
  expect(!(await box.isChecked()), 'the consent checkbox is ticked already');
  // Unticked, the browser will not send the form.
  expect(await box.evaluate((e) => e.validity.valueMissing), 'the browser would send the form unticked');
  return true;
}, page);
await check('the server refuses the application without the consent and files nothing', [consentForm], async () => {
  const before = await applicationCount(page);
  await go(page, P.url.service(P.consent.id));
  const form = page.locator(`${P.css.main} form`).filter({ has: page.getByLabel(P.text.iConsent, { exact: true }) });
  const fields = {};
  for (const input of await form.locator('input[type=hidden]').all()) {
    fields[await input.getAttribute('name')] = (await input.getAttribute('value')) ?? '';
  }
  expect(fields.csrf && fields.key, `the form has no csrf or key field: ${JSON.stringify(Object.keys(fields))}`);
  const response = await page.request.post(base + P.url.apply(P.consent.id), {
    form: fields,
    headers: { Origin: base },
    maxRedirects: 0,
  });
  expect(response.status() >= 400 && response.status() < 500, `the post without consent answered ${response.status()}`);
  const text = await response.text();
  const error = text.match(/<p class="error" role="alert">([^<]*)<\/p>/)?.[1];
  expect(error?.includes(P.text.consentNeeded),
    `the page's error is not "${P.text.consentNeeded}" but "${error}": ${short(text.replace(/<[^>]*>/g, ' '), 300)}`);
  const after = await applicationCount(page);
  expect(after === before, `the applications went from ${before} to ${after}`);
}, page);
const consentApplication = await check('with the box ticked the application is filed (its page shows a state)', [consentForm], async () => {
  await go(page, P.url.service(P.consent.id));
  await page.getByLabel(P.text.iConsent, { exact: true }).check();
  await page.getByRole('button', { name: P.text.apply, exact: true }).click();
  await page.waitForLoadState('load');
  const id = pathOf(page).match(P.url.applicationPath)?.[1];
  expect(id, `after "Apply" the browser is at ${page.url()}, not /my/applications/{id}`);
  expect((await h1(page)).includes(P.consent.name), `h1 is "${await h1(page)}"`);
  const state = await stateText(page);
  expect(state.startsWith(`${P.text.state}:`) && state.length > P.text.state.length + 2, `the state reads "${state}"`);
  console.log(`# the ${P.consent.id} application ${id}: ${state}`);
  return id;
}, page);
const consentRow = async () => (await tableRows(page)).filter((r) => r[P.text.purpose] === P.consent.name);
const consentGiven = await check('"Consents" lists the consent for the service, "Given", with "Withdraw"', [consentApplication], async () => {
  await go(page, P.url.consents);
  expect((await h1(page)) === P.text.consents, `h1 is "${await h1(page)}"`);
  const rows = await consentRow();
  expect(rows.length === 1, `${rows.length} rows name "${P.consent.name}" as the purpose: ${JSON.stringify(await tableRows(page))}`);
  expect(rows[0][P.text.state] === P.text.given, `the state is "${rows[0][P.text.state]}"`);
  expect(rows[0].buttons.includes(P.text.withdrawConsent), `the row's buttons: ${JSON.stringify(rows[0].buttons)}`);
  await shot(page, 'portal-consents.png');
}, page);
await accessible('"Consents" (/my/consents)', [loggedInA], page, async () => {
  if (pathOf(page) !== P.url.consents) await go(page, P.url.consents);
});
await check('a stale form (wrong CSRF token) cannot withdraw the consent: 403', [consentGiven], async () => {
  const record = await page.locator(`${P.css.main} table tbody tr`).filter({ hasText: P.consent.name })
    .locator('input[name=record]').getAttribute('value');
  expect(record, 'the Withdraw form names no record');
  const response = await postStale(page, P.url.consents, { record });
  expect(response.status() === 403, `answered ${response.status()}`);
  expect((await response.text()).includes(P.text.forbidden), `the page does not say "${P.text.forbidden}"`);
  await go(page, P.url.consents);
  const rows = await consentRow();
  expect(rows[0]?.[P.text.state] === P.text.given, `after the stale post the state is "${rows[0]?.[P.text.state]}"`);
}, page);
await check('pressing "Withdraw" leaves the row "Withdrawn" without a "Withdraw" button', [consentGiven], async () => {
  if (pathOf(page) !== P.url.consents) await go(page, P.url.consents);
  await page.locator(`${P.css.main} table tbody tr`).filter({ hasText: P.consent.name })
    .getByRole('button', { name: P.text.withdrawConsent, exact: true }).click();
  await page.waitForLoadState('load');
  expect(pathOf(page) === P.url.consents, `"Withdraw" led to ${page.url()}`);
  const rows = await consentRow();
  expect(rows.length === 1, `${rows.length} rows name "${P.consent.name}"`);
  expect(rows[0][P.text.state] === P.text.consentWithdrawn, `the state is "${rows[0][P.text.state]}"`);
  expect(rows[0].buttons.length === 0, `the row still has buttons: ${JSON.stringify(rows[0].buttons)}`);
}, page);

// e. A change of address: citizen A applies, the officer approves.
let changeId;
await check('the apply page of the change of address labels every field', [loggedInA], async () => {
  await go(page, P.url.service(P.review.id));
  expect((await h1(page)).includes(P.review.name), `h1 is "${await h1(page)}"`);
  const missing = await unlabelled(page);
  expect(missing.length === 0, `fields without a label: ${missing.join(' ')}`);
}, page);
await accessible(`the change of address with its e-form (${P.url.service(P.review.id)})`, [loggedInA], page, async () => {
  if (pathOf(page) !== P.url.service(P.review.id)) await go(page, P.url.service(P.review.id));
});
changeId = await check('citizen A fills the e-form of the change of address and applies: "Submitted"', [loggedInA], async () => {
  if (pathOf(page) !== P.url.service(P.review.id)) await go(page, P.url.service(P.review.id));
  for (const [label, value] of P.review.fields) await page.getByLabel(label).fill(value);
  await submitWith(page, P.text.apply);
  const id = pathOf(page).match(P.url.applicationPath)?.[1];
  expect(id, `after "Apply" the browser is at ${page.url()}, not /my/applications/{id}`);
  await expectState(page, P.text.submitted);
  return id;
}, page);
const markup = Object.fromEntries(P.review.fields)[P.review.markupField];
// The field's text shows as text in main, and main has no <img> (none of the portal's pages has one).
async function showsMarkupAsText(at) {
  const shown = at.locator(P.css.main).getByText(markup, { exact: true });
  expect((await shown.count()) >= 1, `main does not show the text ${markup}`);
  const images = await at.locator(`${P.css.main} img`).count();
  expect(images === 0, `main has ${images} <img> element(s): the field's markup was not escaped`);
}
await check('citizen A\'s application page shows the markup typed in a field as text', [changeId], async () => {
  if (pathOf(page) !== P.url.application(changeId)) await go(page, P.url.application(changeId));
  await showsMarkupAsText(page);
}, page);

const { context: contextO, page: work } = await newContext(browser);
const officerIn = await check('the officer opens /work: Dan asks for the password and the authenticator app\'s code', [], async () => {
  await go(work, `${P.url.home}?lang=${P.lang}`);
  await work.goto(P.url.work);
  await work.waitForLoadState('load');
  expect(pathOf(work).startsWith('/dan/login'), `/work without a login went to ${work.url()}, not Dan`);
  await logInAtDan(work, officer);
  expect(pathOf(work) === P.url.work, `after the login the officer is at ${work.url()}, not /work`);
  expect((await h1(work)) === P.text.workInbox, `h1 is "${await h1(work)}"`);
}, work);
await accessible('the officer\'s inbox (/work)', [officerIn], work, async () => {
  if (pathOf(work) !== P.url.work) await go(work, P.url.work);
});
await check('the officer\'s inbox lists the application; its link opens it', [officerIn, changeId], async () => {
  const link = work.getByRole('table').getByRole('link', { name: changeId, exact: true });
  expect((await link.count()) >= 1, `no link "${changeId}" in the inbox's table`);
  await shot(work, 'work-inbox.png');
  await link.first().click();
  await work.waitForLoadState('load');
  expect(pathOf(work) === P.url.workApplication(changeId), `the link led to ${work.url()}`);
}, work);
await check('the officer\'s page of the application shows the markup typed in a field as text, no <img>', [officerIn, changeId], async () => {
  if (pathOf(work) !== P.url.workApplication(changeId)) await go(work, P.url.workApplication(changeId));
  await showsMarkupAsText(work);
}, work);
const tookUp = await check('the officer takes the application up: "In review", an "Approve" form with labelled fields', [officerIn, changeId], async () => {
  if (pathOf(work) !== P.url.workApplication(changeId)) await go(work, P.url.workApplication(changeId));
  await work.getByRole('button', { name: P.text.takeUp, exact: true }).click();
  await work.waitForLoadState('load');
  await work.getByRole('button', { name: P.text.approve, exact: true }).waitFor();
  expect(pathOf(work) === P.url.workApplication(changeId), `taking up led to ${work.url()}`);
  await expectState(work, P.text.inReview);
  const missing = await unlabelled(work);
  expect(missing.length === 0, `officer fields without a label: ${missing.join(' ')}`);
  await shot(work, 'work-application.png');
  return true;
}, work);
await accessible('the officer\'s page of the application in review (/work/applications/{id})', [tookUp], work, async () => {
  if (pathOf(work) !== P.url.workApplication(changeId)) await go(work, P.url.workApplication(changeId));
});
const approved = await check('the officer approves the application', [tookUp], async () => {
  if (pathOf(work) !== P.url.workApplication(changeId)) await go(work, P.url.workApplication(changeId));
  const approve = work.getByRole('button', { name: P.text.approve, exact: true });
  await fillOfficerFields(work.locator('form').filter({ has: approve }));
  await approve.click();
  await work.waitForLoadState('load');
  expect(work.url().startsWith(base), `approving led to ${work.url()}`);
}, work);
await check('citizen A sees the change of address "Completed"', [approved, loggedInA], async () => {
  await go(page, P.url.application(changeId));
  await expectState(page, P.text.completed);
}, page);
await check('"My actions" lists the officer\'s take-up and approval of the change of address', [approved], async () => {
  await go(work, P.url.actions);
  expect((await h1(work)) === P.text.myActions, `h1 is "${await h1(work)}"`);
  const rows = (await tableRows(work)).filter((r) => r.links.includes(P.url.workApplication(changeId)));
  for (const [action, state] of P.review.actions) {
    const row = rows.find((r) => r[P.text.action] === action);
    expect(row, `no row for "${action}" of ${changeId}: ${JSON.stringify(rows)}`);
    expect(row[P.text.state] === state, `the "${action}" row's state is "${row[P.text.state]}", not "${state}"`);
    expect(row[P.text.service] === P.review.name, `the "${action}" row's service is "${row[P.text.service]}"`);
  }
  await work.locator(`${P.css.main} table`).getByRole('link', { name: changeId, exact: true }).first().click();
  await work.waitForLoadState('load');
  expect(pathOf(work) === P.url.workApplication(changeId), `the row's link led to ${work.url()}`);
  await shot(work, 'work-actions.png');
}, work);

// Notices.
const noticed = await check('citizen A\'s inbox has the change of address "Completed", marked "New:"', [approved, loggedInA], async () => {
  await go(page, P.url.inbox);
  expect((await h1(page)) === P.text.inbox, `h1 is "${await h1(page)}"`);
  const items = page.locator(`${P.css.main} li`).filter({
    has: page.getByRole('link', { name: P.review.name, exact: true }),
  }).filter({ hasText: new RegExp(`· ${P.text.completed}\\b`) });
  expect((await items.count()) >= 1, `no notice of "${P.review.name}" says "${P.text.completed}": ${short(await page.locator(P.css.main).innerText())}`);
  const marker = await items.first().locator('strong').allInnerTexts();
  expect(marker.map((t) => t.trim()).includes(P.text.unread), `the notice is not marked "${P.text.unread}" (${JSON.stringify(marker)})`);
  const href = await items.first().getByRole('link', { name: P.review.name, exact: true }).getAttribute('href');
  expect(new URL(href, base).pathname === P.url.application(changeId), `the notice links to ${href}`);
  await shot(page, 'portal-inbox.png');
  return true;
}, page);
await check('"Mark all as read" leaves no "New:" marker', [noticed], async () => {
  await page.getByRole('button', { name: P.text.markRead, exact: true }).click();
  await page.waitForLoadState('load');
  expect(pathOf(page) === P.url.inbox, `"${P.text.markRead}" led to ${page.url()}`);
  const markers = await page.locator(`${P.css.main} strong`).filter({ hasText: P.text.unread }).count();
  expect(markers === 0, `${markers} notices are still marked "${P.text.unread}"`);
  expect((await page.locator(P.css.main).innerText()).includes(P.review.name), 'the notices are gone');
}, page);

// f. Citizen B sees nothing of A's.
const { context: contextB, page: pageB } = await citizenLogsIn(browser, B).catch((e) => {
  report(false, 'citizen B logs in', e.message);
  return {};
});
if (pageB) report(true, 'citizen B logs in');
await check('citizen B gets 404 "Not found" for citizen A\'s application', [pageB, referenceId], async () => {
  const response = await pageB.goto(P.url.application(referenceId));
  expect(response.status() === 404, `answered ${response.status()}`);
  expect((await pageB.locator('body').innerText()).includes(P.text.notFound), 'the page does not say "Not found"');
  const list = await pageB.goto(P.url.myApplications);
  expect(list.status() === 200, `${P.url.myApplications} answered ${list.status()}`);
  expect(!(await pageB.content()).includes(referenceId), 'B\'s list of applications shows A\'s application');
}, pageB);
await accessible('the 404 page (citizen B at citizen A\'s application)', [pageB, referenceId], pageB, async () => {
  await go(pageB, P.url.application(referenceId), 404);
});
await check('citizen B gets 404 for citizen A\'s PDF', [pageB, docId], async () => {
  const response = await contextB.request.get(base + P.url.pdf(docId));
  expect(response.status() === 404, `GET ${P.url.pdf(docId)} answered ${response.status()}`);
});
await check('citizen B\'s "My data" shows B and not citizen A\'s national ID', [pageB], async () => {
  await go(pageB, P.url.myData);
  const text = await pageB.locator(P.css.main).innerText();
  expect(text.includes(B.nationalId), `B's own national ID ${B.nationalId} is not shown`);
  expect(!(await pageB.content()).includes(A.nationalId), `A's national ID ${A.nationalId} is on B's page`);
}, pageB);

// f2. The one-stop desk: the officer files the address reference for citizen B, who reads out the
// code texted to the register's phone.
await accessible('the one-stop desk (/work/desk)', [officerIn], work, async () => {
  await go(work, P.url.desk);
});
const codeSent = await check('the desk sends citizen B a code: "The code was sent to" a masked phone', [officerIn], async () => {
  await go(work, P.url.desk);
  expect((await h1(work)) === P.text.desk, `h1 is "${await h1(work)}"`);
  expect((await unlabelled(work)).length === 0, `fields without a label: ${await unlabelled(work)}`);
  await work.getByLabel(P.text.nationalId, { exact: true }).fill(B.nationalId);
  await work.getByLabel(P.text.service, { exact: true }).selectOption(P.reference.id);
  await work.getByRole('button', { name: P.text.sendCode, exact: true }).click();
  await work.waitForLoadState('load');
  const notice = work.locator(P.css.main).getByText(P.text.codeSent);
  expect((await notice.count()) >= 1, `the page does not say "${P.text.codeSent}"`);
  const masked = (await notice.first().innerText()).match(P.maskedPhone);
  expect(masked, `no masked phone in "${await notice.first().innerText()}"`);
  expect(!(await work.locator(P.css.main).innerText()).includes(B.phone), 'the page shows the whole phone number');
  expect(B.phone.endsWith(masked[1]), `the masked phone ${masked[0]} is not B's (${B.phone.slice(-4)})`);
  await shot(work, 'work-desk.png');
  return true;
}, work);
const filedForB = await check('the officer types the texted code and files: "Filed for the citizen:", "Completed"', [codeSent], async () => {
  const code = await deskCode(B.phone);
  expect((await unlabelled(work)).length === 0, `fields without a label: ${await unlabelled(work)}`);
  await work.getByLabel(P.text.code, { exact: true }).fill(code);
  await work.getByRole('button', { name: P.text.file, exact: true }).click();
  await work.waitForLoadState('load');
  const text = await work.locator(P.css.main).innerText();
  expect(text.includes(P.text.filedFor), `the page does not say "${P.text.filedFor}"`);
  expect(text.includes(B.nationalId), `the page does not name ${B.nationalId}`);
  const state = await definition(work, P.text.state);
  expect(state === P.text.completed, `the state is "${state}"`);
  return true;
}, work);
await check('citizen B\'s applications list the address reference the desk filed', [filedForB, pageB], async () => {
  await go(pageB, P.url.myApplications);
  const rows = (await tableRows(pageB)).filter((r) => r[P.text.service] === P.reference.name);
  expect(rows.length >= 1, `no row "${P.reference.name}": ${short(await pageB.locator(P.css.main).innerText())}`);
  expect(rows[0][P.text.state] === P.text.completed, `its state is "${rows[0][P.text.state]}"`);
}, pageB);

// g. A phone.
const { context: contextPhone, page: phone } = await newContext(browser, P.phone, { isMobile: true, hasTouch: true });
await check('at 360 px wide the home page has no horizontal scrollbar', [], async () => {
  await go(phone, `${P.url.home}?lang=${P.lang}`);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= P.phone.width, `scrollWidth is ${width}`);
  await shot(phone, 'portal-home-phone.png');
}, phone);
await accessible('the home page at 360 px wide', [], phone, async () => {
  if (pathOf(phone) !== P.url.home) await go(phone, P.url.home);
});

// A stale form: the session's cookie with another CSRF token files nothing.
await check('applying with a stale CSRF token answers 403 and files nothing', [loggedInA], async () => {
  const before = await applicationCount(page);
  const response = await postStale(page, P.url.apply(P.reference.id), { key: randomBytes(16).toString('hex') });
  expect(response.status() === 403, `answered ${response.status()}`);
  expect((await response.text()).includes(P.text.forbidden), `the page does not say "${P.text.forbidden}"`);
  const after = await applicationCount(page);
  expect(after === before, `the applications went from ${before} to ${after}`);
}, page);

// Logged out: the citizen's and the officer's pages send the browser to Dan.
const { context: contextOut, page: out } = await newContext(browser);
for (const url of [P.url.myData, P.url.work]) {
  await check(`logged out, ${url} leads to Dan's login page`, [], async () => {
    const response = await out.goto(url);
    expect(response, `no response for ${url}`);
    expect(pathOf(out).startsWith(P.url.danLogin), `${url} ended at ${out.url()} (HTTP ${response.status()})`);
    expect(response.status() === 200, `Dan's login page answered ${response.status()}`);
  }, out);
}

// Login CSRF: an attacker starts a login in their own browser, logs in at Dan as themself
// (citizen B) and keeps the callback URL (Dan's code and the state) from the portal; a victim's
// browser that opens it must not be logged in as the attacker.
const { context: contextAttacker, page: attacker } = await newContext(browser);
let holding;
const heldCallback = await check('a login started in one browser and finished at Dan as citizen B, its callback held back: the URL carries a code and the state', [], async () => {
  holding = await holdCallbacks(contextAttacker);
  const { held } = holding;
  await go(attacker, `${P.url.home}?lang=${P.lang}`);
  await go(attacker, P.url.portalLogin(P.url.myData));
  expect(pathOf(attacker).startsWith(P.url.danLogin), `${P.url.portalLogin(P.url.myData)} led to ${attacker.url()}, not Dan's login page`);
  expect(await cookieOf(contextAttacker, P.cookie.login), `the browser holds no ${P.cookie.login} at Dan's login page`);
  await logInAtDan(attacker, B);
  expect(held.url, `no navigation reached ${P.url.callback}; the browser is at ${attacker.url()}`);
  const params = new URL(held.url).searchParams;
  expect(params.get('code') && params.get('state'), `the held callback has no code or no state: ${held.url}`);
  // Held back, it logged nobody in: the attacker's browser still has its login in flight.
  expect(!(await cookieOf(contextAttacker, P.cookie.session)), 'the attacker\'s browser has a portal session already');
  expect(await cookieOf(contextAttacker, P.cookie.login), `the attacker's browser lost its ${P.cookie.login}`);
  return held.url;
}, attacker);
const { context: contextVictim, page: victim } = await newContext(browser);
const refused = await check('another browser opening that callback URL gets an error page (4xx, no redirect): "login … started in another browser", and no session', [heldCallback], async () => {
  await go(victim, `${P.url.home}?lang=${P.lang}`);
  const response = await victim.goto(heldCallback);
  expect(response, `no response for ${heldCallback}`);
  const hops = [];
  for (let r = response.request().redirectedFrom(); r; r = r.redirectedFrom()) hops.unshift(r.url());
  expect(hops.length === 0, `the callback redirected: ${[...hops, victim.url()].join(' -> ')}`);
  expect(pathOf(victim) === P.url.callback, `the victim's browser is at ${victim.url()}`);
  expect(response.status() >= 400 && response.status() < 500, `the callback answered ${response.status()}`);
  const alert = short(await victim.locator(`${P.css.main} [role=alert]`).allInnerTexts().then((t) => t.join(' ')));
  expect(alert.toLowerCase().includes(P.text.loginElsewhere.toLowerCase()), `the page's alert is "${alert}", not "${P.text.loginElsewhere}…"`);
  expect((await victim.locator(P.css.header).getByRole('button', { name: P.text.logOut }).count()) === 0,
    'the error page\'s header has "Log out"');
  const session = await cookieOf(contextVictim, P.cookie.session);
  expect(!session, `the victim's browser was given a session cookie (${session && cookieFlags(session)})`);
  return true;
}, victim);
await check(`after that, the victim's ${P.url.myData} still leads to Dan's login page (not logged in as citizen B)`, [refused], async () => {
  const response = await victim.goto(P.url.myData);
  expect(response, `no response for ${P.url.myData}`);
  expect(pathOf(victim).startsWith(P.url.danLogin), `${P.url.myData} ended at ${victim.url()} (HTTP ${response.status()})`);
  expect(!(await victim.content()).includes(B.nationalId), `the page shows citizen B's national ID ${B.nationalId}`);
}, victim);
// The URL was a good one: the browser that started the login is logged in by it (the victim's
// attempt did not spend it), so the refusal above was for the browser, not for a bad code.
await check('the held callback URL, opened in the browser that started the login, logs citizen B in there', [refused], async () => {
  await holding.release();
  await attacker.goto(heldCallback);
  await attacker.waitForLoadState('load');
  expect(pathOf(attacker) === P.url.myData, `the callback led to ${attacker.url()}, not ${P.url.myData}`);
  expect((await attacker.locator(P.css.main).innerText()).includes(B.nationalId), `"My data" does not show ${B.nationalId}`);
  expect(!(await cookieOf(contextAttacker, P.cookie.login)), `${P.cookie.login} is still there after the callback`);
}, attacker);

// Citizen A logs out.
await check('citizen A logs out of the portal and of Dan: "Log in" asks for the password again', [loggedInA], async () => {
  await go(page, P.url.home);
  await page.locator(P.css.header).getByRole('button', { name: P.text.logOut, exact: true }).click();
  await page.waitForLoadState('load');
  // Dan asks to confirm ending its own session (no ID token travels in the URL), then returns.
  expect(new URL(page.url()).pathname === '/oidc/logout', `after "Log out" the browser is at ${page.url()}`);
  await page.getByRole('button', { name: P.text.logOut, exact: true }).click();
  await page.waitForLoadState('load');
  expect(new URL(page.url()).pathname === P.url.home, `after Dan's logout the browser is at ${page.url()}`);
  await page.locator(P.css.header).getByRole('link', { name: P.text.logIn, exact: true }).waitFor();
  expect((await page.locator(P.css.header).getByRole('button', { name: P.text.logOut }).count()) === 0,
    'the header still has "Log out"');
  // No single sign-on left behind: logging in again needs the password.
  await page.locator(P.css.header).getByRole('link', { name: P.text.logIn, exact: true }).click();
  await page.waitForLoadState('load');
  expect(new URL(page.url()).pathname.startsWith('/dan/login'), `"Log in" went to ${page.url()}, not Dan's login form`);
  expect((await page.locator('input[type=password]').count()) === 1, 'Dan did not ask for the password');
}, page);

// The language: Mongolian when asked, English again when asked (a browser of its own).
const { context: contextLang, page: lang } = await newContext(browser);
const inMongolian = await check('/?lang=mn answers in Mongolian: <html lang="mn">, "Төрийн үйлчилгээ нэг дор"', [], async () => {
  await go(lang, `${P.url.home}?lang=${P.mn.lang}`);
  const htmlLang = await lang.evaluate(() => document.documentElement.lang);
  expect(htmlLang === P.mn.lang, `html lang is "${htmlLang}"`);
  expect((await h1(lang)) === P.mn.welcome, `h1 is "${await h1(lang)}"`);
  await go(lang, P.url.home);
  expect((await h1(lang)) === P.mn.welcome, `without ?lang the home page forgot Mongolian: "${await h1(lang)}"`);
  await shot(lang, 'portal-home-mn.png');
  return true;
}, lang);
await check('the header\'s "English" link (?lang=en) switches back to English, and it is remembered', [inMongolian], async () => {
  const link = lang.locator(P.css.header).getByRole('link', { name: P.text.english, exact: true });
  const href = await link.getAttribute('href');
  expect(new URL(href, base).searchParams.get('lang') === P.lang, `"${P.text.english}" points at ${href}`);
  await link.click();
  await lang.waitForLoadState('load');
  expect((await lang.evaluate(() => document.documentElement.lang)) === P.lang, 'html lang is not en');
  expect((await h1(lang)) === P.text.welcome, `h1 is "${await h1(lang)}"`);
  await go(lang, P.url.home);
  expect((await h1(lang)) === P.text.welcome, `without ?lang the home page is "${await h1(lang)}"`);
}, lang);

for (const context of [contextA, contextO, contextB, contextPhone, contextOut, contextAttacker, contextVictim, contextLang]) {
  await context?.close();
}
await browser.close();

// The watch over every page of the run.
const offsite = watch.offsite();
report(offsite.length === 0, 'no request left the loopback interface', `requests to: ${offsite.join(' ')}`);
const pages = await watch.pages();
const noPolicy = pages.filter((p) => !p.csp).map((p) => `${p.status} ${p.url}`);
report(pages.length > 0 && noPolicy.length === 0,
  `every page (${pages.length}) answered with a Content-Security-Policy header`,
  `without one: ${noPolicy.join(' ')}`);
const consoleProblems = watch.console();
report(consoleProblems.length === 0, 'no Content-Security-Policy violation or script error in the console',
  consoleProblems.join(' | '));

console.log(`1..${counter}`);
if (failures > 0) console.log(`# ${failures} of ${counter} checks failed`);
process.exit(failures > 0 ? 1 : 0);
