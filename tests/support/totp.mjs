// RFC 6238 time-based one-time passwords as an authenticator app makes them (HMAC-SHA-1, 6
// digits, 30 s steps), from the base32 secret Dan shows when an app is enrolled. Used by dan.mjs
// (enrolment) and tests/portal/chromium.mjs (the officer's login).

import { createHmac } from 'node:crypto';

export const kStepSeconds = 30;

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let buffer = 0;
  let bits = 0;
  for (const c of text.replace(/[=\s]/g, '').toUpperCase()) {
    const digit = alphabet.indexOf(c);
    if (digit < 0) throw new Error(`not a base32 digit: ${JSON.stringify(c)}`);
    buffer = ((buffer << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export const stepAt = (millis) => Math.floor(millis / 1000 / kStepSeconds);
export const currentStep = () => stepAt(Date.now());

// The code of time step `step` (RFC 4226 HOTP with the step as counter).
export function codeAt(secretBase32, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const number = mac.readUInt32BE(at) & 0x7fffffff;
  return String(number % 1_000_000).padStart(6, '0');
}

// A code Dan will take now from an account whose last accepted code was of step `lastUsedStep`:
// Dan accepts one step either side of its clock but never a step at or before the last one
// used, so right after enrolment the next step's code is typed (still inside the window).
// Returns {code, step}; waits for the clock when even the next step is not yet usable.
export async function freshCode(secretBase32, lastUsedStep = -1) {
  for (;;) {
    const now = currentStep();
    const step = Math.max(now, lastUsedStep + 1);
    if (step <= now + 1) return { code: codeAt(secretBase32, step), step };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
