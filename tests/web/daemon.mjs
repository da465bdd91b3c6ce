// The evidenced process and its HTTP API for tests/web/console.test.mjs: started on
// 127.0.0.1:0, its address read from what it prints, stopped with SIGTERM.
import { spawn } from 'node:child_process';

// --min-retention-days 0: a 0-day category makes items due at once (the retention steps).
export function startDaemon(evidenced, dataDir) {
  return new Promise((resolve, reject) => {
    const p = spawn(evidenced, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--min-retention-days', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`evidenced did not print its address in 30 s:\n${err}`)), 30000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, base: m[1], log: () => err });
      }
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`evidenced exited (${code}) before listening:\n${err}`));
    });
  });
}

// Resolves with the exit code (null when it had to be killed after 10 s).
export function stopDaemon(d) {
  return new Promise((resolve) => {
    if (d.proc.exitCode !== null) return resolve(d.proc.exitCode);
    d.proc.once('exit', (code) => resolve(code));
    d.proc.kill('SIGTERM');
    setTimeout(() => d.proc.kill('SIGKILL'), 10000).unref();
  });
}

export async function apiCall(base, token, method, p, body, headers = {}) {
  const res = await fetch(base + '/api/v1' + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...headers },
    body,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text, headers: res.headers };
}
