// The DATA_DIR lock under a start-up race: servers started at once, on a fresh folder or over a dead server's lock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SERVERS = 4;
const ROUNDS = 3;

type Outcome = { pid: number; listening: boolean; code: number | null; output: string };

const children: ChildProcess[] = [];
const folders: string[] = [];

// Four processes started at once reach the lock tens of milliseconds apart (module loading, two cores), and a race
// over a window of microseconds is then a matter of luck. The barrier, loaded with --import before src/server.ts,
// loads the server and all it imports once under another URL (where it does not start: only the entry point
// does), then holds each racer at its first read of DATA_DIR (start-up reads it just before taking the lock)
// until every racer is there, and wakes them all at one instant. It changes no behaviour, only when it happens.
const BARRIER = `
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
await import(process.env.RACE_SERVER_URL + '?warm-up');
const meet = () => {
  const dir = process.env.RACE_BARRIER_DIR;
  writeFileSync(join(dir, String(process.pid)), '');
  const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
  const deadline = Date.now() + 60000;
  while (readdirSync(dir).length < Number(process.env.RACE_SIZE) && Date.now() < deadline) pause(2);
  // Every racer wakes at the same instant: 50 ms after the last one was ready.
  const last = Math.max(...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));
  pause(last + 50 - Date.now());
};
let met = false;
process.env = new Proxy(process.env, {
  get(target, key) {
    if (key === 'DATA_DIR' && !met) {
      met = true;
      meet();
    }
    return Reflect.get(target, key);
  },
});
`;
let barrierFile: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'login-service-barrier-'));
  folders.push(dir);
  barrierFile = join(dir, 'barrier.mjs');
  writeFileSync(barrierFile, BARRIER);
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const freshDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
};

// Starts src/server.ts as `npm start` does; settles when it listens or exits. A listening one keeps running.
const start = (dataDir: string, barrierDir: string) =>
  new Promise<Outcome>((settle) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(barrierFile).href, 'src/server.ts'], {
      env: {
        ...process.env,
        RACE_SERVER_URL: pathToFileURL(resolve('src/server.ts')).href,
        RACE_BARRIER_DIR: barrierDir,
        RACE_SIZE: String(SERVERS),
        DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'WARN',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const outcome: Outcome = { pid: child.pid ?? -1, listening: false, code: null, output: '' };
    const collect = (chunk: Buffer) => {
      outcome.output += chunk.toString();
      if (!outcome.listening && /listening on http/.test(outcome.output)) {
        outcome.listening = true;
        settle(outcome);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('exit', (code) => {
      outcome.code = code;
      settle(outcome);
    });
  });

const stop = (pid: number) =>
  new Promise<void>((resolve) => {
    const child = children.find((candidate) => candidate.pid === pid);
    if (child === undefined || child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

// Starts SERVERS servers at once on `dataDir`; waits a moment more so a late crash of a "winner" is seen too.
const race = async (dataDir: string) => {
  const barrierDir = freshDir('login-service-race-');
  const outcomes = await Promise.all(Array.from({ length: SERVERS }, () => start(dataDir, barrierDir)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  return outcomes;
};

const expectOneWinner = (outcomes: Outcome[]) => {
  const winners = outcomes.filter((outcome) => outcome.listening && outcome.code === null);
  const losers = outcomes.filter((outcome) => !outcome.listening);
  expect(outcomes.map((outcome) => outcome.output)).not.toContainEqual(expect.stringContaining('Database is closed'));
  expect(winners).toHaveLength(1);
  expect(losers).toHaveLength(SERVERS - 1);
  const holder = winners[0]?.pid;
  for (const loser of losers) {
    expect(loser.code).not.toBe(0);
    expect(loser.code).not.toBeNull();
    expect(loser.output).toContain(`is in use by another running server (pid ${holder})`);
  }
  return holder;
};

// The pid of a process that has come and gone: what a server killed without clean-up leaves in its lock.
const deadPid = () => {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  return pid;
};

describe('DATA_DIR lock', () => {
  it(`lets exactly one of ${SERVERS} servers started at once on a fresh DATA_DIR run, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      // Prepare
      const dataDir = freshDir('login-service-lock-');

      // Act
      const outcomes = await race(dataDir);

      // Assess
      const holder = expectOneWinner(outcomes);
      if (holder !== undefined) await stop(holder);
      await Promise.all(outcomes.map((outcome) => stop(outcome.pid)));
    }
  }, 120_000);

  it(`lets exactly one of ${SERVERS} servers take over a dead server's lock at once, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      // Prepare
      const dataDir = freshDir('login-service-lock-');
      writeFileSync(join(dataDir, 'server.lock'), String(deadPid()));

      // Act
      const outcomes = await race(dataDir);

      // Assess
      expectOneWinner(outcomes);
      await Promise.all(outcomes.map((outcome) => stop(outcome.pid)));
    }
  }, 120_000);
});
