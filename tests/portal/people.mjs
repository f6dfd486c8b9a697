// Prepares the people of the portal's browser test against a running `ulus up`, through Dan's own
// pages (a scripted browser without script, ../oidc_client/browser.mjs):
//   citizen A  the demo citizen of `ulus up` (DATA/demo-accounts.json)
//   citizen B  another adult of the population register with a phone, signed up through
//              /dan/signup with the code the register's phone receives (`ulus messages`)
//   officer    the demo officer of the civil registration agency, who enrols an authenticator
//              app (TOTP) on /dan/account/totp so Dan can ask for substantial assurance
//   node people.mjs BASE_URL DATA_DIR ULUS_BINARY
// Prints on stdout:
//   {"citizenA": {"nationalId", "password", "name"},
//    "citizenB": {"nationalId", "password", "phone"},
//    "officer":  {"nationalId", "password", "agency", "totpSecret", "totpLastStep"}}
// totpSecret is base32 (as an app is given it); totpLastStep the time step of the code that
// confirmed the enrolment, which Dan will not take again.
// Reads the population register with Python's sqlite3 (read-only) to find citizen B.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CookieJar, formData, loginData, parseForms, request } from '../oidc_client/browser.mjs';
import { currentStep, codeAt } from './totp.mjs';

const [baseArg, dataDir, ulus] = process.argv.slice(2);
if (!baseArg || !dataDir || !ulus) {
  console.error('usage: node people.mjs BASE_URL DATA_DIR ULUS_BINARY');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs the binary; while it cannot be run (a rebuild replacing it) tries again for a minute.
function ulusCommand(args) {
  for (let waited = 0; ; waited++) {
    try {
      return execFileSync(ulus, ['--log-level', 'warn', '--data', dataDir, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      if (!['ENOENT', 'EACCES', 'ETXTBSY'].includes(e.code) || waited >= 60) {
        throw new Error(`ulus ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
}

// The form on `page` whose action contains `path`.
function form(page, path) {
  const found = parseForms(page.text, page.url).find((f) => new URL(f.action).pathname === path);
  if (!found) {
    throw new Error(`no form posting to ${path} on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
  }
  return found;
}

// An adult of the register with a phone who is none of `exclude`: the first by register number.
function otherAdult(agency, exclude) {
  const db = join(dataDir, 'agencies', `${agency}.db`);
  if (!existsSync(db)) throw new Error(`no register store at ${db}`);
  const script = `
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
exclude = set(sys.argv[2:])
rows = db.execute("SELECT data FROM record_version WHERE registry = 'person' AND is_current = 1"
                  " AND deleted = 0 ORDER BY record_id")
for (data,) in rows:
    p = json.loads(data)
    if (p.get("status") == "alive" and p.get("phone") and p.get("birth_date", "9") < "2000"
            and p.get("id") not in exclude):
        print(json.dumps({"nationalId": p["id"], "phone": p["phone"]}))
        break
`;
  const out = execFileSync('python3', ['-c', script, db, ...exclude], { encoding: 'utf8' }).trim();
  if (!out) throw new Error('the population register has no other adult with a phone');
  return JSON.parse(out);
}

async function signUp({ nationalId, phone }, password) {
  const jar = new CookieJar();
  let page = await request(jar, `${base}/dan/signup?lang=en`);
  let f = form(page, '/dan/signup');
  const start = formData(f);
  start.set('national_id', nationalId);
  page = await request(jar, f.action, { method: 'POST', form: start });
  if (page.status === 303 && page.location) page = await request(jar, page.location);
  if (page.status !== 200) throw new Error(`sign-up of ${nationalId}: HTTP ${page.status} ${page.text.slice(0, 300)}`);
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    code = ulusCommand(['messages', '--to', phone, '--limit', '1']).match(/sign-up code is (\d{6})/)?.[1];
    if (!code) await sleep(100);
  }
  if (!code) throw new Error(`no sign-up code reached ${phone}`);
  f = form(page, '/dan/signup/verify');
  const verify = formData(f);
  verify.set('national_id', nationalId);
  verify.set('code', code);
  verify.set('password', password);
  verify.set('password_again', password);
  page = await request(jar, f.action, { method: 'POST', form: verify });
  if (page.status !== 303) throw new Error(`sign-up of ${nationalId} refused: HTTP ${page.status} ${page.text.slice(0, 300)}`);
}

// Logs in with the password and enrols an authenticator app; returns its secret and the step of
// the confirming code.
async function enrolTotp(account) {
  const jar = new CookieJar();
  let page = await request(jar, `${base}/dan/login?lang=en`);
  let f = form(page, '/dan/login');
  page = await request(jar, f.action, { method: 'POST', form: loginData(f, account) });
  if (page.status !== 303) throw new Error(`login of ${account.nationalId}: HTTP ${page.status} ${page.text.slice(0, 300)}`);
  page = await request(jar, `${base}/dan/account/totp?lang=en`);
  if (page.status !== 200) throw new Error(`TOTP page: HTTP ${page.status} ${page.location ?? ''}`);
  const totpSecret = page.text.match(/[?&](?:amp;)?secret=([A-Z2-7]+)/)?.[1];
  if (!totpSecret) throw new Error('the TOTP page shows no otpauth secret');
  f = form(page, '/dan/account/totp');
  const data = formData(f);
  const step = currentStep();
  data.set('code', codeAt(totpSecret, step));
  page = await request(jar, f.action, { method: 'POST', form: data });
  if (page.status !== 200 || !/recovery/i.test(page.text)) {
    throw new Error(`TOTP enrolment refused: HTTP ${page.status} ${page.text.slice(0, 300)}`);
  }
  return { totpSecret, totpLastStep: step };
}

const demo = JSON.parse(readFileSync(join(dataDir, 'demo-accounts.json'), 'utf8'));
const demoOf = (kind) => {
  const account = demo.find((a) => a.kind === kind);
  if (!account) throw new Error(`no ${kind} in demo-accounts.json`);
  return account;
};
const citizen = demoOf('citizen');
const officer = demoOf('officer');

const other = otherAdult(officer.agency, demo.map((a) => a.national_id));
const passwordB = `portal-e2e-${randomBytes(9).toString('base64url')}`;
await signUp(other, passwordB);

const officerAccount = { nationalId: officer.national_id, password: officer.password };
const totp = await enrolTotp(officerAccount);

const people = {
  citizenA: { nationalId: citizen.national_id, password: citizen.password, name: citizen.name },
  citizenB: { nationalId: other.nationalId, password: passwordB, phone: other.phone },
  officer: { ...officerAccount, agency: officer.agency, ...totp },
};
process.stdout.write(`${JSON.stringify(people)}\n`);
