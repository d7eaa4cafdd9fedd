/**
 * `npm run bench`: longrun beside a minimal raw-`ws` server (bench/limit-server.ts) in one run,
 * each scenario on a freshly started server, the load from a separate process (bench/load.ts);
 * every figure is printed with its ratio to the limit's, and docs/benchmarks.md is rewritten.
 *
 *   npm run bench                                  # every scenario at its full size
 *   npm run bench -- fanout --subs 1000            # one scenario, one size
 *   npm run bench -- --quick                       # small sizes, a few seconds each
 *   npm run bench -- mutations --cpu-prof          # CPU profiles of the servers (bench/profiles)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { mintToken } from '../src/auth/jwt.js';
import { encodeCursor } from '../src/operations/cursor.js';
import { type Bar, renderChart, type Series } from './lib/chart.js';
import type { LoadOptions } from './load.js';
import { RARE_KIND, seedOperations } from './seed.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['fanout', 'mutations', 'idlemem', 'dashboard', 'listing'] as const;
type Scenario = (typeof SCENARIOS)[number];
const TARGETS = ['limit', 'baseline', 'project'] as const;
type Target = (typeof TARGETS)[number];

const USAGE = `Usage: npm run bench -- [fanout|mutations|idlemem|dashboard|listing ...] [options]
  --subs 100,1000,5000   fanout sockets (each watching --ops operations); idlemem sockets (default 5000)
  --ops 5                operations cancelled one by one in fanout
  --dashboard-ops 1000   operations reporting progress 10/s in dashboard
  --feeds 50             admin operationsUpdated subscribers in dashboard
  --duration 10          seconds of load in mutations (dashboard: 30)
  --conns 32             HTTP clients in mutations
  --stores 10000,1000000 operations seeded into the store before listing (one server each)
  --quick                small sizes and short runs (a look, not figures to keep)
  --targets limit,project
  --baseline <dir>       also run another checkout (e.g. main before a change): before/after in one run
  --cpu-prof             write each server's CPU profiles to bench/profiles/<target>-<scenario>-<ms>/
                         (summarise one with: npx tsx bench/profile-summary.ts <file>)
  --no-write             do not rewrite docs/benchmarks.md and docs/benchmarks.svg`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    subs: { type: 'string' },
    ops: { type: 'string', default: '5' },
    'dashboard-ops': { type: 'string' },
    feeds: { type: 'string' },
    duration: { type: 'string' },
    conns: { type: 'string', default: '32' },
    stores: { type: 'string' },
    quick: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'limit,project' },
    'cpu-prof': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknown = positionals.filter((name) => !SCENARIOS.includes(name as Scenario));
if (unknown.length > 0) {
  process.stderr.write(`Unknown scenario ${unknown.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
const scenarios: readonly Scenario[] =
  positionals.length > 0 ? (positionals as Scenario[]) : SCENARIOS;
const targets = (
  values.baseline === undefined
    ? values.targets.split(',')
    : [...values.targets.split(','), 'baseline']
).sort((a, b) => TARGETS.indexOf(a as Target) - TARGETS.indexOf(b as Target)) as Target[];
const baselineDir = values.baseline === undefined ? null : resolve(values.baseline);
const quick = values.quick;
const numbers = (text: string | undefined) => text?.split(',').map(Number);
const fanoutSubs = numbers(values.subs) ?? (quick ? [100] : [100, 1000, 5000]);
const idleSubs = numbers(values.subs) ?? [quick ? 1000 : 5000];
const storeSizes = numbers(values.stores) ?? (quick ? [1_000, 100_000] : [10_000, 1_000_000]);
const sizes = {
  ops: Number(values.ops),
  conns: Number(values.conns),
  duration: Number(values.duration ?? (quick ? 3 : 10)),
  // Long enough for a trend in memory to show.
  dashboardDuration: Number(values.duration ?? (quick ? 3 : 30)),
  dashboardOps: Number(values['dashboard-ops'] ?? (quick ? 200 : 1000)),
  feeds: Number(values.feeds ?? (quick ? 10 : 50)),
};

const jwtSecret = randomBytes(32).toString('base64url');
const key = createSecretKey(Buffer.from(jwtSecret, 'utf8'));
const token = mintToken({ sub: 'bench-user', ttlSec: 3600 }, key, 'HS256');
const adminToken = mintToken({ sub: 'bench-admin', admin: true, ttlSec: 3600 }, key, 'HS256');
const metricsToken = randomBytes(24).toString('base64url');
const profiles = join(root, 'bench', 'profiles');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Running {
  readonly pid: number;
  readonly url: string;
  /** From the spawn to the first ready answer of /readyz. */
  readonly readyMs: number;
  /** The last few KB the server wrote to stderr. */
  log(): string;
  stop(keepData?: boolean): Promise<void>;
}

/** The newest modification time (ms) of `path`, a file or every file under a directory. */
function newest(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path, { recursive: true, encoding: 'utf8' })) {
    latest = Math.max(latest, statSync(join(path, name)).mtimeMs);
  }
  return latest;
}

/**
 * Builds the checkout in `dir` (`npm run build`) unless its dist/main.js is newer than its sources:
 * the servers run `node dist/main.js` as `npm start` does in production. Under tsx, the
 * transpiler's loader and its caches add tens of MiB at start and kilobytes per subscription.
 */
function ensureBuilt(dir: string): void {
  const built = newest(join(dir, 'dist', 'main.js'));
  const sources = Math.max(
    ...['src', 'package.json', 'tsconfig.json', 'vite.config.ts'].map((name) =>
      newest(join(dir, name)),
    ),
  );
  if (built > sources) return;
  process.stderr.write(`building ${dir} (npm run build)...\n`);
  const result = spawnSync('npm', ['run', 'build'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`npm run build failed in ${dir}`);
}

/**
 * bench/limit-server.ts as plain JavaScript, written where Node resolves `ws` from this checkout's
 * node_modules: the limit runs on bare Node too, or the comparison would charge it tsx's cost.
 */
function limitScript(): string {
  const source = join(root, 'bench', 'limit-server.ts');
  const output = join(root, 'node_modules', '.cache', 'longrun-bench', 'limit-server.mjs');
  if (newest(output) > newest(source)) return output;
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, outputText);
  return output;
}

const newDataDir = () => mkdtempSync(join(tmpdir(), 'longrun-bench-'));

/**
 * Starts one target on a free port, its store in `dataDir` (a fresh one by default); resolves
 * once /readyz answers. `stop` removes the data directory unless asked to keep it.
 */
async function startServer(
  target: Target,
  scenario: Scenario,
  dataDir = newDataDir(),
): Promise<Running> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const script = target === 'limit' ? limitScript() : 'dist/main.js';
  const profileDir = join(profiles, `${target}-${scenario}-${Date.now()}`);
  const flags = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const child = spawn(process.execPath, [...flags, script], {
    cwd: target === 'baseline' && baselineDir !== null ? baselineDir : root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      JWT_SECRET: jwtSecret,
      METRICS_TOKEN: metricsToken,
      DATA_DIR: dataDir,
      DATABASE_URL: join(dataDir, 'bench.sqlite'),
      // One bench user drives all the load: lift the per-owner quotas and caps.
      MAX_CONCURRENT_RUNS: String(
        scenario === 'dashboard' ? Math.min(1000, sizes.dashboardOps) : 64,
      ),
      MAX_RUNS_PER_OWNER: String(
        scenario === 'dashboard' ? Math.min(1000, sizes.dashboardOps) : 64,
      ),
      // 0 is no limit: a huge limit would still be checked, reading up to that many index entries.
      MAX_ACTIVE_PER_OWNER: '0',
      START_RATE_PER_MINUTE: '0',
      MAX_SOCKETS_PER_USER: '1000000',
      MAX_SUBSCRIPTIONS_PER_USER: '1000000',
    },
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited at start:\n${log}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${target} not ready after 60 s:\n${log}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    pid: child.pid ?? 0,
    url,
    readyMs: performance.now() - spawnedAt,
    log: () => log,
    async stop(keepData = false) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Figures = Record<string, number | number[]>;

/** Runs the load process for one scenario against one started server. */
function runLoad(options: LoadOptions): Promise<Figures> {
  return new Promise((resolveLoad, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bench', 'load.ts'), JSON.stringify(options)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolveLoad(JSON.parse(line) as Figures);
      else reject(new Error(`load ${options.scenario} exited ${code}: ${out.slice(-500)}`));
    });
  });
}

interface Row {
  readonly scenario: Scenario;
  readonly size: string;
  readonly results: Partial<Record<Target, Figures | { error: string }>>;
}

/**
 * Starts `target` on a store holding `count` seeded operations: a first start migrates a fresh
 * file, the rows go in straight through SQLite (bench/seed.ts), then the server starts on it.
 */
async function startSeeded(target: Target, count: number) {
  const dataDir = newDataDir();
  const first = await startServer(target, 'listing', dataDir);
  await first.stop(true);
  const seedStart = performance.now();
  const seeded = seedOperations(join(dataDir, 'bench.sqlite'), count, 'bench-user');
  const seedSec = (performance.now() - seedStart) / 1000;
  process.stderr.write(
    `  listing: ${count.toLocaleString('en-US')} operations seeded in ${seedSec.toFixed(1)} s\n`,
  );
  const server = await startServer(target, 'listing', dataDir);
  return {
    server,
    listing: {
      deepOwn: encodeCursor(seeded.deepOwn),
      deepAll: encodeCursor(seeded.deepAll),
      rareKind: RARE_KIND,
    },
  };
}

async function measure(
  scenario: Scenario,
  subs: number,
  ops: number,
  size: string,
  seed = 0,
): Promise<Row> {
  const results: Row['results'] = {};
  // The limit has no store to list.
  for (const target of targets.filter((t) => scenario !== 'listing' || t !== 'limit')) {
    process.stderr.write(`${scenario} ${size}: ${target}...\n`);
    let server: Running | null = null;
    try {
      let listing: LoadOptions['listing'];
      if (scenario === 'listing') ({ server, listing } = await startSeeded(target, seed));
      else server = await startServer(target, scenario);
      const figures = await runLoad({
        listing,
        scenario,
        url: server.url,
        token,
        adminToken,
        metricsToken,
        serverPid: server.pid,
        subs,
        ops,
        conns: sizes.conns,
        duration: scenario === 'dashboard' ? sizes.dashboardDuration : sizes.duration,
      });
      results[target] = { ...figures, readyMs: Math.round(server.readyMs) };
    } catch (error) {
      results[target] = { error: error instanceof Error ? error.message : String(error) };
      process.stderr.write(`  failed: ${results[target].error}\n`);
      const log = server?.log().trim();
      if (log) process.stderr.write(`  the server's last words:\n${log}\n`);
    } finally {
      await server?.stop();
    }
  }
  return { scenario, size, results };
}

/** Which figures each scenario shows, and whether lower is better. */
const MEASURES: Record<Scenario, readonly [key: string, label: string, lowerIsBetter: boolean][]> =
  {
    fanout: [
      ['firstP50', 'CANCELLING p50 (ms)', true],
      ['firstP99', 'CANCELLING p99 (ms)', true],
      ['firstMax', 'CANCELLING max (ms)', true],
      ['doneP99', 'CANCELLED p99 (ms)', true],
      ['eventsPerSec', 'events/s', false],
      ['lost', 'lost events', true],
      ['cpuUsPerEvent', 'server CPU per event (µs)', true],
    ],
    mutations: [
      ['reqPerSec', 'req/s', false],
      ['cpuMsPerReq', 'server CPU per request (ms)', true],
      ['p50', 'p50 (ms)', true],
      ['p99', 'p99 (ms)', true],
      ['errors', 'errors', true],
    ],
    idlemem: [
      ['kibPerSub', 'RSS per subscription (KiB)', true],
      ['rssBeforeMiB', 'RSS before sockets (MiB)', true],
    ],
    dashboard: [
      ['eventsPerSec', 'delivered events/s', false],
      ['eventsPerFeedPerSec', 'events/s per feed', false],
      ['changesPerSec', 'changes committed/s', false],
      ['offeredChangesPerSec', 'changes offered/s', false],
      ['p50', 'latency p50 (ms)', true],
      ['p99', 'latency p99 (ms)', true],
      ['cancelledMissed', 'CANCELLED missed', true],
      ['cancelAllSec', 'cancel all, until every CANCELLED is seen (s)', true],
      ['serverCpuSec', 'server CPU while measured (s)', true],
      ['rssStartMiB', 'RSS at start (MiB)', true],
      ['rssEndMiB', 'RSS at end (MiB)', true],
      ['rssPeakMiB', 'RSS peak (MiB)', true],
      ['rssSlopeMiBPerMin', 'RSS trend (MiB/min)', true],
      ['rssFloorFirstMiB', 'RSS floor, first half (MiB)', true],
      ['rssFloorLastMiB', 'RSS floor, second half (MiB)', true],
    ],
    listing: [
      ['readyMs', 'start until ready (ms)', true],
      ['ownFirstMs', 'own, first page (ms)', true],
      ['ownDeepMs', 'own, half-way by cursor (ms)', true],
      ['allFirstMs', 'admin, first page (ms)', true],
      ['allDeepMs', 'admin, half-way by cursor (ms)', true],
      ['ownSucceededMs', 'own, status SUCCEEDED (ms)', true],
      ['ownActiveMs', 'own, status PENDING/RUNNING/CANCELLING (ms)', true],
      ['allRareKindMs', 'admin, a kind 1 in 1,000 has (ms)', true],
      ['ownRareKindMs', 'own, a kind 1 in 1,000 has (ms)', true],
      ['ownCountedMs', 'own, first page with totalCount (ms)', true],
      ['metricsMs', '/metrics scrape (ms)', true],
      ['idleCpuPct', 'CPU while idle (%)', true],
      ['rssMiB', 'RSS (MiB)', true],
    ],
  };

const format = (value: number) =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(value < 10 ? 2 : 1);

/** A target's figure over the limit's (NaN when either is missing or the limit's is 0). */
function ratio(row: Row, key: string, target: Target = 'project'): number {
  const limit = row.results.limit;
  const project = row.results[target];
  if (!limit || !project || 'error' in limit || 'error' in project) return Number.NaN;
  const a = project[key];
  const b = limit[key];
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : Number.NaN;
}

function table(rows: readonly Row[]): string {
  const names = NAMES;
  const compared = targets.filter((target) => target !== 'limit');
  const lines = [
    `| scenario | measure | ${targets.map((t) => names[t]).join(' | ')} | ${compared.map((t) => `${names[t]} / limit`).join(' | ')} |`,
    `|---|---|${targets.map(() => '---|').join('')}${compared.map(() => '---|').join('')}`,
  ];
  for (const row of rows) {
    for (const [key, label] of MEASURES[row.scenario]) {
      const cell = (target: Target) => {
        const figures = row.results[target];
        if (!figures) return '-';
        if ('error' in figures) return 'failed';
        const value = figures[key];
        return typeof value === 'number' ? format(value) : '-';
      };
      const ratios = compared.map((target) => {
        const r = ratio(row, key, target);
        return Number.isNaN(r) ? '-' : `x${r.toFixed(2)}`;
      });
      lines.push(
        `| ${row.scenario} ${row.size} | ${label} | ${targets.map(cell).join(' | ')} | ${ratios.join(' | ')} |`,
      );
    }
  }
  return lines.join('\n');
}

const NAMES: Record<Target, string> = { limit: 'limit', baseline: 'baseline', project: 'longrun' };

/**
 * A figure of a row, scaled: fanout latencies per subscription (a p99 over S subscribers grows
 * with S when each costs the same), everything else as measured.
 */
function scaled(row: Row, target: Target, key: string): number {
  const figures = row.results[target];
  if (!figures || 'error' in figures) return Number.NaN;
  const value = figures[key];
  if (typeof value !== 'number') return Number.NaN;
  return row.scenario === 'fanout' && key === 'firstP99'
    ? (value * 1000) / Number(row.size)
    : value;
}

/**
 * How figures grow with size, within one run: fanout at 5,000 sockets against 1,000 (per
 * subscription, the p99 and events/s should stay within 20%), listing on the largest store
 * against the smallest (O(page) reads stay near x1).
 */
function scaling(rows: readonly Row[]): string {
  const pairs: [Row, Row, readonly (readonly [string, string, boolean])[]][] = [];
  const fanout = rows.filter((row) => row.scenario === 'fanout');
  const small = fanout.find((row) => row.size === '1000') ?? fanout[0];
  const large = fanout.at(-1);
  if (small && large && small !== large) {
    pairs.push([
      small,
      large,
      [
        ['firstP99', 'CANCELLING p99 per subscription (µs)', true],
        ['eventsPerSec', 'events/s', false],
        ['cpuUsPerEvent', 'server CPU per event (µs)', true],
      ],
    ]);
  }
  const listing = rows.filter((row) => row.scenario === 'listing');
  const [fewest, most] = [listing[0], listing.at(-1)];
  if (fewest && most && fewest !== most) {
    pairs.push([fewest, most, MEASURES.listing]);
  }
  const lines = [
    '| comparison | measure | server | smaller | larger | larger / smaller | no more than 20% worse |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [a, b, measures] of pairs) {
    for (const [key, label, lowerIsBetter] of measures) {
      for (const target of targets) {
        const x = scaled(a, target, key);
        const y = scaled(b, target, key);
        if (Number.isNaN(x) || Number.isNaN(y)) continue;
        const r = x === 0 ? Number.NaN : y / x;
        const holds = lowerIsBetter ? r <= 1.2 : r >= 0.8;
        const verdict = Number.isNaN(r) ? '-' : holds ? 'yes' : 'no';
        lines.push(
          `| ${a.scenario} ${b.size} vs ${a.size} | ${label} | ${NAMES[target]} | ${format(x)} | ${format(y)} | ${Number.isNaN(r) ? '-' : `x${r.toFixed(2)}`} | ${verdict} |`,
        );
      }
    }
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

/** The bars of the chart: each headline measure as a cost factor against the limit. */
function bars(rows: readonly Row[]): Bar[] {
  const headline: Record<Scenario, readonly [string, string, boolean][]> = {
    fanout: [
      ['firstP99', 'CANCELLING p99', true],
      ['eventsPerSec', 'events/s', false],
    ],
    mutations: [
      ['reqPerSec', 'req/s', false],
      ['p99', 'p99', true],
    ],
    idlemem: [['kibPerSub', 'RSS per subscription', true]],
    dashboard: [
      ['eventsPerSec', 'delivered events/s', false],
      ['p99', 'latency p99', true],
    ],
    // Against a store 100 times smaller, not against the limit (see scaling()).
    listing: [],
  };
  return rows.flatMap((row) =>
    headline[row.scenario].map(([key, label, lowerIsBetter]) => {
      const r = ratio(row, key);
      return { label: `${row.scenario} ${row.size}: ${label}`, factor: lowerIsBetter ? r : 1 / r };
    }),
  );
}

function machine(): string {
  const cpu = cpus();
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return [
    `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}`,
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `Linux ${release()}`,
    `Node ${process.version}`,
    `commit ${git.stdout.trim() || 'unknown'}`,
  ].join(', ');
}

/** The dashboard's RSS samples of each target, one line each. */
function memoryLines(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  for (const row of rows.filter((r) => r.scenario === 'dashboard')) {
    for (const target of targets) {
      const figures = row.results[target];
      if (figures && !('error' in figures) && Array.isArray(figures.rssMiB)) {
        const samples = figures.rssMiB.map((v) => v.toFixed(0)).join(' ');
        lines.push(`dashboard ${NAMES[target]} RSS each second (MiB): ${samples}`);
      }
    }
  }
  return lines;
}

/** What each scenario does, as docs/benchmarks.md says it. */
function scenarioText(): string {
  return `- **fanout**: S sockets (100, 1,000 and 5,000), each subscribed with \`operationUpdated\` to the
  same ${sizes.ops} RUNNING operations, which are cancelled one at a time. Latency from the
  cancel mutation sent to CANCELLING and to CANCELLED received, over every subscription;
  events/s is the events delivered over the time from each cancel to its last event; lost
  events are those never received (every subscriber must see both status changes of every
  operation). The scaling table sets 5,000 sockets against 1,000: the CANCELLING p99 per
  subscription and events/s should stay within 20%.
- **mutations**: ${sizes.conns} HTTP clients loop \`startOperation\` then \`cancelOperation\` for
  ${sizes.duration} s; every request counts, durable SQLite writes for longrun.
- **idlemem**: server RSS growth per idle socket holding one \`operationUpdated\` subscription
  (5,000 sockets).
- **dashboard**: ${sizes.dashboardOps.toLocaleString('en-US')} RUNNING operations each reporting
  progress ten times a second (${(sizes.dashboardOps * 10).toLocaleString('en-US')} changes/s offered),
  ${sizes.feeds} admin sockets following \`operationsUpdated\` for ${sizes.dashboardDuration} s:
  delivered events/s (all feeds and per feed), the changes the server committed, latency from
  an event's \`updatedAt\` to its arrival (every frame of 5 feeds is parsed, the others' are
  counted), server RSS each second with its least-squares trend and the floor of each half
  (RSS is a sawtooth under garbage collection); then every operation is
  cancelled (200 requests at a time) and each subscriber must see every CANCELLED: the time
  until then, and how many it missed.
- **listing**: a store seeded with 10,000 and then 1,000,000 finished operations of 10 owners
  (bench/seed.ts writes the rows straight into SQLite after the server's first start migrated
  the file; the server then starts again on it): pages of \`operations(first: 50)\` for the
  user (their own) and an admin (everyone's), at the top and half-way down by cursor, filtered
  by status and by a kind one operation in 1,000 has, and with \`totalCount\`; the time the
  server takes to start on the store, a \`/metrics\` scrape and the CPU it spends idle. Each
  figure is the median of 20 reads after 3 warm-up reads. The scaling table sets the large
  store against the small: reads that stay O(page) stay near x1.`;
}

function document(rows: readonly Row[], command: string): string {
  const grown = scaling(rows);
  const memory = memoryLines(rows).map((line) => `- ${line}`);
  return `# Benchmarks

Produced by \`${command}\` (bench/bench.ts) on ${new Date().toISOString().slice(0, 10)}; regenerate it
the same way. Each scenario runs on a freshly started server: \`limit\` is bench/limit-server.ts, a
minimal raw-\`ws\` server that recognises the same requests by name and writes one pre-serialized
frame per subscriber (no GraphQL, no store, no authentication: what Node and \`ws\` cost on this
machine), and \`longrun\` is \`node dist/main.js\`, as \`npm start\` runs it in production, with
\`NODE_ENV=production\` on a fresh SQLite file and the per-owner quotas lifted through the
environment because one user drives all the load. Both run on bare Node: the bench runs
\`npm run build\` first when the checkout's sources are newer than its dist/ (the same for
\`--baseline <dir>\`) and transpiles the limit once into node_modules/.cache. The load comes from
a separate process (bench/load.ts): graphql-transport-ws over raw \`ws\` sockets and GraphQL over
keep-alive HTTP, tokens signed with the key the server was given.

Machine: ${machine()}. The machine is shared and noisy: compare the ratios of one run, never
absolute figures across runs.

![longrun against the limit](benchmarks.svg)

${table(rows)}
${memory.length === 0 ? '' : `\n${memory.join('\n')}\n`}${grown === '' ? '' : `\n## How figures grow with size\n\n${grown}\n`}
## Scenarios

${scenarioText()}

## Reproduce

\`\`\`sh
npm run bench                                  # everything, about 10 minutes
npm run bench -- fanout --subs 1000            # one scenario at one size
npm run bench -- dashboard --no-write          # one scenario at full size, docs left alone
npm run bench -- listing --stores 10000,1000000
npm run bench -- --quick --no-write            # a quick look
npm run bench -- listing --baseline <dir> --no-write   # another checkout beside this one
npm run bench -- mutations --cpu-prof          # CPU profiles in bench/profiles/
\`\`\`

Opening 5,000 sockets on each side needs \`ulimit -n\` above 10,000. The 1,000,000-operation
store takes about 600 MB in the system's temporary folder while the listing step runs.

Beside other GraphQL servers (graphql-ws in memory, yoga, Apollo, Mercurius), measured with the
shared peer benchmark: [peer-benchmarks.md](peer-benchmarks.md).
`;
}

if (targets.includes('project')) ensureBuilt(root);
if (baselineDir !== null) ensureBuilt(baselineDir);
const rows: Row[] = [];
for (const scenario of scenarios) {
  if (scenario === 'fanout') {
    for (const subs of fanoutSubs) rows.push(await measure(scenario, subs, sizes.ops, `${subs}`));
  } else if (scenario === 'idlemem') {
    for (const subs of idleSubs) rows.push(await measure(scenario, subs, 1, `@${subs}`));
  } else if (scenario === 'mutations') {
    rows.push(await measure(scenario, 0, 0, `${sizes.conns} clients`));
  } else if (scenario === 'listing') {
    for (const count of storeSizes) {
      rows.push(await measure(scenario, 0, 0, `@${count.toLocaleString('en-US')}`, count));
    }
  } else {
    rows.push(
      await measure(scenario, sizes.feeds, sizes.dashboardOps, `${sizes.dashboardOps} ops`),
    );
  }
}
process.stdout.write(`\n${table(rows)}\n`);
for (const line of memoryLines(rows)) process.stdout.write(`${line}\n`);
const grown = scaling(rows);
if (grown !== '') process.stdout.write(`\n${grown}\n`);
for (const row of rows) {
  for (const target of targets) {
    const figures = row.results[target];
    if (figures && 'error' in figures)
      process.stdout.write(`${row.scenario} ${row.size} ${target}: ${figures.error}\n`);
  }
}
if (!values['no-write'] && !quick) {
  const memory: Series[] = [];
  const dashboardRow = rows.find((row) => row.scenario === 'dashboard');
  for (const [target, colour] of [
    ['limit', '#1565c0'],
    ['project', '#c62828'],
  ] as const) {
    const figures = dashboardRow?.results[target];
    if (figures && !('error' in figures) && Array.isArray(figures.rssMiB)) {
      memory.push({
        label: target === 'project' ? 'longrun' : 'limit',
        colour,
        values: figures.rssMiB,
      });
    }
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  writeFileSync(
    join(root, 'docs', 'benchmarks.svg'),
    renderChart('longrun against the raw-ws limit', bars(rows), memory),
  );
  writeFileSync(join(root, 'docs', 'benchmarks.md'), document(rows, command));
  process.stdout.write('wrote docs/benchmarks.md and docs/benchmarks.svg\n');
}
