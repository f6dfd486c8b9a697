// Prepares the people of the portal's browser test against a running `ulus up`, through Dan's own
// pages (a scripted browser without script: ../support/dan.mjs):
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
import { CookieJar } from '../oidc_client/browser.mjs';
import { enrolTotp, passwordLogin, signUp } from '../support/dan.mjs';
import { ulusRunner } from '../support/ulus.mjs';

const [baseArg, dataDir, ulus] = process.argv.slice(2);
if (!baseArg || !dataDir || !ulus) {
  console.error('usage: node people.mjs BASE_URL DATA_DIR ULUS_BINARY');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const runUlus = ulusRunner(ulus, dataDir);

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
await signUp(base, runUlus, other, passwordB);

// The officer logs in with the password and enrols an authenticator app.
const officerAccount = { nationalId: officer.national_id, password: officer.password };
const officerBrowser = new CookieJar();
await passwordLogin(base, officerBrowser, officerAccount);
const totp = await enrolTotp(base, officerBrowser);

const people = {
  citizenA: { nationalId: citizen.national_id, password: citizen.password, name: citizen.name },
  citizenB: { nationalId: other.nationalId, password: passwordB, phone: other.phone },
  officer: { ...officerAccount, agency: officer.agency, ...totp },
};
process.stdout.write(`${JSON.stringify(people)}\n`);
