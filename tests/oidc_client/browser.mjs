// A tiny scripted browser for server-rendered login and consent pages: fetch with manual
// redirects, a cookie jar, and a generic HTML form reader (no scripts run). Shared by e2e.mjs and
// mint-refresh-tokens.mjs. Not a general HTML parser: enough for forms a server renders.

// Cookies by name and path, sent to paths they match (RFC 6265 §5.1.4). One origin only.
export class CookieJar {
  #cookies = new Map(); // `${name};${path}` -> {name, value, path, expires}

  store(response, requestUrl) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(requestUrl);
      let expires = Infinity;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=').map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && expires === Infinity) expires = Date.parse(v);
      }
      const id = `${name};${path}`;
      if (expires <= Date.now()) this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path, expires });
    }
  }

  header(url) {
    const path = new URL(url).pathname;
    const now = Date.now();
    const matching = [...this.#cookies.values()]
      .filter((c) => c.expires > now && pathMatches(path, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  has(name) {
    return [...this.#cookies.values()].some((c) => c.name === name);
  }
}

function defaultPath(url) {
  const p = new URL(url).pathname;
  const slash = p.lastIndexOf('/');
  return slash <= 0 ? '/' : p.slice(0, slash);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// One request with the jar's cookies and no redirect following.
export async function request(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const h = { ...headers };
  const cookie = jar.header(url);
  if (cookie) h.cookie = cookie;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    h['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, { method, headers: h, body, redirect: 'manual' });
  jar.store(response, url);
  const text = await response.text();
  const location = response.headers.get('location');
  return {
    status: response.status,
    headers: response.headers,
    text,
    url,
    location: location ? new URL(location, url).href : null,
  };
}

const kEntities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return kEntities[e.toLowerCase()] ?? m;
  });
}

function attributes(tag) {
  const attrs = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

// Every <form> of a page with its controls: inputs, buttons, selects (first option) and
// textareas, including controls outside the form that name it with form="id".
export function parseForms(html, pageUrl) {
  const forms = [];
  const orphans = [];
  let current = null;
  const re =
    /<form\b[^>]*>|<\/form\s*>|<input\b[^>]*>|<button\b[^>]*>([\s\S]*?)<\/button\s*>|<textarea\b[^>]*>([\s\S]*?)<\/textarea\s*>|<select\b[^>]*>([\s\S]*?)<\/select\s*>|<!--[\s\S]*?-->/gi;
  for (const m of html.matchAll(re)) {
    const tag = m[0];
    if (tag.startsWith('<!--')) continue;
    const lower = tag.slice(0, 9).toLowerCase();
    if (lower.startsWith('<form')) {
      const a = attributes(tag.match(/^<form\b[^>]*>/i)[0]);
      current = {
        id: a.id,
        action: new URL(a.action || pageUrl, pageUrl).href,
        method: (a.method || 'get').toUpperCase(),
        controls: [],
      };
      forms.push(current);
      continue;
    }
    if (lower.startsWith('</form')) {
      current = null;
      continue;
    }
    const open = tag.match(/^<[a-z]+\b[^>]*>/i)[0];
    const a = attributes(open);
    const kind = open.slice(1).split(/[\s>]/)[0].toLowerCase();
    let control;
    if (kind === 'input') {
      control = { tag: 'input', type: (a.type || 'text').toLowerCase(), name: a.name, value: a.value ?? '' };
    } else if (kind === 'button') {
      const text = decodeEntities((m[1] || '').replace(/<[^>]*>/g, '')).trim();
      control = { tag: 'button', type: (a.type || 'submit').toLowerCase(), name: a.name, value: a.value ?? '', text };
    } else if (kind === 'textarea') {
      control = { tag: 'textarea', type: 'textarea', name: a.name, value: decodeEntities(m[2] || '') };
    } else {
      const opt = (m[3] || '').match(/<option\b[^>]*>/i);
      const selected = (m[3] || '').match(/<option\b[^>]*\bselected\b[^>]*>/i) || opt;
      control = { tag: 'select', type: 'select', name: a.name, value: selected ? attributes(selected[0]).value ?? '' : '' };
    }
    control.disabled = 'disabled' in a;
    control.checked = 'checked' in a;
    if (a.form) orphans.push([a.form, control]);
    else if (current) current.controls.push(control);
  }
  for (const [id, control] of orphans) forms.find((f) => f.id === id)?.controls.push(control);
  return forms;
}

const kSubmitTypes = new Set(['submit', 'image']);
const isSubmit = (c) => (c.tag === 'button' || c.tag === 'input') && kSubmitTypes.has(c.type);
const kTextTypes = new Set(['text', 'tel', 'number', 'email', '']);
// What a "yes" button says, strongest first; and what a "no" button says.
const kAllowTiers = [
  /allow|approve|accept|agree|consent|grant|authori[sz]e|зөвшөөр/i,
  /continue|confirm|yes|submit|sign.?in|log.?in|үргэлжлүүл|нэвтр|батал/i,
  /sign.?out|log.?out|гарах/i,
];
const kDeny = /deny|reject|decline|cancel|abort|refuse|\bno\b|stay|татгалз|цуцл/i;
const label = (c) => `${c.name ?? ''} ${c.value ?? ''} ${c.text ?? ''}`;

// The name=value pairs a browser would submit for `form` pressing `submitter` (or none).
export function formData(form, submitter) {
  const data = new URLSearchParams();
  for (const c of form.controls) {
    if (!c.name || c.disabled) continue;
    if (isSubmit(c)) continue;
    if ((c.type === 'checkbox' || c.type === 'radio') && !c.checked) continue;
    data.append(c.name, c.value);
  }
  if (submitter?.name) data.append(submitter.name, submitter.value);
  return data;
}

// The submit control of `form` that means "yes": the strongest kAllowTiers match that does not
// deny, else the first that does not deny, else null.
export function allowButton(form) {
  const submits = form.controls.filter((c) => isSubmit(c) && !kDeny.test(label(c)));
  for (const tier of kAllowTiers) {
    const found = submits.find((c) => tier.test(label(c)));
    if (found) return found;
  }
  return submits[0] ?? null;
}

// The form a person would press "yes" on: the one whose button says so most strongly, else the
// first POST form, else the first form.
function chooseForm(forms) {
  for (const tier of kAllowTiers) {
    const found = forms.find((f) => f.controls.some((c) => isSubmit(c) && tier.test(label(c)) && !kDeny.test(label(c))));
    if (found) return found;
  }
  return forms.find((f) => f.method === 'POST') ?? forms[0];
}

// Fills a login form: the national ID goes into the text input whose name says "national" or
// "id" (else the first text input), the password into the password input.
export function loginData(form, { nationalId, password }) {
  const password_input = form.controls.find((c) => c.type === 'password' && c.name);
  const texts = form.controls.filter((c) => c.tag === 'input' && kTextTypes.has(c.type) && c.name);
  const id_input = texts.find((c) => /national/i.test(c.name)) ?? texts.find((c) => /id/i.test(c.name)) ?? texts[0];
  if (!password_input || !id_input) throw new Error('login form has no identifier or password field');
  const submitter = allowButton(form);
  const data = formData(form, submitter);
  data.set(id_input.name, nationalId);
  data.set(password_input.name, password);
  return data;
}

async function submit(jar, form, data) {
  if (form.method === 'POST') return request(jar, form.action, { method: 'POST', form: data });
  const url = new URL(form.action);
  for (const [k, v] of data) url.searchParams.append(k, v);
  return request(jar, url.href);
}

function describe(page) {
  const title = page.text.match(/<title>([\s\S]*?)<\/title>/i)?.[1]?.trim();
  return `HTTP ${page.status} at ${page.url}${title ? ` ("${title}")` : ''}`;
}

// Drives a browser from `startUrl` until the server redirects to a URL starting with `stopAt`:
// follows redirects, logs in where a password form shows, presses "allow" on other forms.
// Returns { url: the final redirect (URL), pages: the kinds of page seen ('login', 'form') }.
export async function browseUntil(jar, startUrl, stopAt, account, { maxSteps = 15 } = {}) {
  let page = await request(jar, startUrl);
  const pages = [];
  for (let step = 0; step < maxSteps; step++) {
    if (page.status >= 300 && page.status < 400 && page.location) {
      if (page.location.startsWith(stopAt)) return { url: new URL(page.location), pages };
      page = await request(jar, page.location);
      continue;
    }
    if (page.status !== 200) throw new Error(`unexpected page: ${describe(page)}: ${page.text.slice(0, 300)}`);
    const forms = parseForms(page.text, page.url);
    const login = forms.find((f) => f.controls.some((c) => c.type === 'password'));
    if (login) {
      if (pages.includes('login')) throw new Error(`login refused: ${describe(page)}`);
      pages.push('login');
      page = await submit(jar, login, loginData(login, account));
      continue;
    }
    const form = chooseForm(forms);
    if (!form) throw new Error(`no form and no redirect: ${describe(page)}: ${page.text.slice(0, 300)}`);
    pages.push('form');
    page = await submit(jar, form, formData(form, allowButton(form)));
  }
  throw new Error(`gave up after ${maxSteps} steps at ${describe(page)}`);
}
