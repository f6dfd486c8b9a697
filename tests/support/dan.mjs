// Dan's own pages as a person goes through them, with the scripted browser of
// tests/oidc_client/browser.mjs (no script runs): signing up with the code the population
// register's phone receives, logging in with a password, enrolling an authenticator app (TOTP).
// Used by tests/services/people.mjs and tests/portal/people.mjs.

import { CookieJar, formData, loginData, parseForms, request } from '../oidc_client/browser.mjs';
import { codeAt, currentStep } from './totp.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The form on `page` that posts to `path`.
export function formPostingTo(page, path) {
  const found = parseForms(page.text, page.url).find((f) => new URL(f.action).pathname === path);
  if (!found) {
    throw new Error(`no form posting to ${path} on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
  }
  return found;
}

// Signs `nationalId` up on /dan/signup with `password`; the code sent to `phone` is read with
// `ulus messages` through `runUlus` (ulus.mjs's ulusRunner).
export async function signUp(base, runUlus, { nationalId, phone }, password) {
  const jar = new CookieJar();
  let page = await request(jar, `${base}/dan/signup?lang=en`);
  let form = formPostingTo(page, '/dan/signup');
  const start = formData(form);
  start.set('national_id', nationalId);
  page = await request(jar, form.action, { method: 'POST', form: start });
  if (page.status === 303 && page.location) page = await request(jar, page.location);
  if (page.status !== 200) throw new Error(`sign-up of ${nationalId}: HTTP ${page.status} ${page.text.slice(0, 300)}`);
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    code = runUlus(['messages', '--to', phone, '--limit', '1']).match(/sign-up code is (\d{6})/)?.[1];
    if (!code) await sleep(100);
  }
  if (!code) throw new Error(`no sign-up code reached ${phone}`);
  form = formPostingTo(page, '/dan/signup/verify');
  const verify = formData(form);
  verify.set('national_id', nationalId);
  verify.set('code', code);
  verify.set('password', password);
  verify.set('password_again', password);
  page = await request(jar, form.action, { method: 'POST', form: verify });
  if (page.status !== 303) {
    throw new Error(`sign-up of ${nationalId} refused: HTTP ${page.status} ${page.text.slice(0, 300)}`);
  }
}

// Logs `account` ({nationalId, password}) in on /dan/login in the browser of `jar`.
export async function passwordLogin(base, jar, account) {
  const page = await request(jar, `${base}/dan/login?lang=en`);
  const form = formPostingTo(page, '/dan/login');
  const done = await request(jar, form.action, { method: 'POST', form: loginData(form, account) });
  if (done.status !== 303) {
    throw new Error(`login of ${account.nationalId}: HTTP ${done.status} ${done.text.slice(0, 300)}`);
  }
}

// Enrols an authenticator app on the account logged in in the browser of `jar`; the confirming
// code also raises that session to substantial assurance. Returns {totpSecret, totpLastStep}: the
// base32 secret (as an app is given it) and the time step of the confirming code, which Dan will
// not take again.
export async function enrolTotp(base, jar) {
  const page = await request(jar, `${base}/dan/account/totp?lang=en`);
  if (page.status !== 200) throw new Error(`TOTP page: HTTP ${page.status} ${page.location ?? ''}`);
  const totpSecret = page.text.match(/[?&](?:amp;)?secret=([A-Z2-7]+)/)?.[1];
  if (!totpSecret) throw new Error('the TOTP page shows no otpauth secret');
  const form = formPostingTo(page, '/dan/account/totp');
  const data = formData(form);
  const step = currentStep();
  data.set('code', codeAt(totpSecret, step));
  const done = await request(jar, form.action, { method: 'POST', form: data });
  if (done.status !== 200 || !/recovery/i.test(done.text)) {
    throw new Error(`TOTP enrolment refused: HTTP ${done.status} ${done.text.slice(0, 300)}`);
  }
  return { totpSecret, totpLastStep: step };
}
