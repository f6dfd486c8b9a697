// The ulus binary run as its operator would (`ulus --data DATA_DIR ...`) by the end-to-end tests'
// scripts, through the moment a rebuild replaces it. Used by tests/services/people.mjs and
// tests/portal/people.mjs.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// A function of `args` that runs `ulus --log-level warn --data dataDir ...args` and returns its
// standard output, or throws with its standard error when it fails. While the binary cannot be
// run (missing, not executable, being written) it tries again each second for a minute.
export function ulusRunner(ulus, dataDir) {
  return (args) => {
    for (let waited = 0; ; waited++) {
      try {
        return execFileSync(ulus, ['--log-level', 'warn', '--data', dataDir, ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (e) {
        const replaced = ['ENOENT', 'EACCES', 'ETXTBSY'].includes(e.code) || !existsSync(ulus);
        if (!replaced || waited >= 60) {
          throw new Error(`ulus ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      }
    }
  };
}
