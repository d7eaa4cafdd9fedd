/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof`, or `BENCH_CPU_PROF=<dir>
 * npm run bench:loop`): the share of samples spent in each function (self time) and in each
 * package or source folder, and the longest stretches without an idle sample (the event loop
 * held) with the project functions and packages they spent most in.
 *
 *   tsx bench/profile-summary.ts bench/profiles/project-mutations-…/CPU….cpuprofile [top=30] [last-seconds]
 *
 * With `last-seconds`, only the samples of the profile's last seconds count (the measured phase
 * of a scenario, after its set-up).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly endTime: number;
  readonly startTime: number;
}

const [file, topText, lastText] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('Usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topText ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const since = lastText === undefined ? -Infinity : profile.endTime - Number(lastText) * 1e6;
const counts = new Map<number, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, index) => {
  at += profile.timeDeltas[index] ?? 0;
  if (at < since) return;
  counts.set(id, (counts.get(id) ?? 0) + 1);
  total++;
});

/** Where a script lives: its package under node_modules, else its folder under the project. */
function area(url: string): string {
  if (url === '') return '(native/idle/gc)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch?.[1]) return packageMatch[1];
  if (url.startsWith('node:')) return 'node internals';
  const sourceMatch = /\/(src\/[^/]+)\//.exec(url);
  return sourceMatch?.[1] ?? url.replace(/^.*\//, '');
}

const functions = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, count] of counts) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/src\//, 'src/')}:${lineNumber + 1}`;
  functions.set(name, (functions.get(name) ?? 0) + count);
  const where = functionName.startsWith('(') ? functionName : area(url);
  areas.set(where, (areas.get(where) ?? 0) + count);
}

// Inclusive time of the project's own functions: the samples with it anywhere on the stack.
const parents = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parents.set(child, node.id);
const inclusive = new Map<string, number>();
for (const [id, count] of counts) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (!frame || frame.url.includes('node_modules') || !frame.url.includes('/src/')) continue;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/src\//, 'src/')}:${frame.lineNumber + 1}`;
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + count);
  }
}

const share = (count: number) => `${((100 * count) / total).toFixed(1).padStart(5)}%`;
const print = (title: string, entries: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, count] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${share(count)}  ${name}\n`);
  }
};
process.stdout.write(`${total} samples\n`);
print('by area (self time)', areas);
print('by function (self time)', functions);
print("the project's functions (inclusive time)", inclusive);

// The longest runs of consecutive busy samples: how long the loop was held, and by what.
const idle = new Set(
  profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id),
);
const stretches: Array<{ ms: number; ids: number[] }> = [];
let current: { ms: number; ids: number[] } | null = null;
profile.samples.forEach((id, i) => {
  const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  if (idle.has(id)) {
    if (current) stretches.push(current);
    current = null;
    return;
  }
  current ??= { ms: 0, ids: [] };
  current.ms += ms;
  current.ids.push(id);
});
if (current) stretches.push(current);
process.stdout.write('\nlongest busy stretches\n');
const label = (frame: ProfileNode['callFrame']) =>
  `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/src\//, 'src/')}:${frame.lineNumber + 1}`;
for (const stretch of stretches.sort((a, b) => b.ms - a.ms).slice(0, Math.min(top, 8))) {
  // Where its samples were (self time), and the innermost project function above each.
  const self = new Map<string, number>();
  const own = new Map<string, number>();
  for (const id of stretch.ids) {
    const node = byId.get(id);
    if (node) self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + 1);
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame?.url.includes('/src/') || frame.url.includes('node_modules')) continue;
      own.set(label(frame), (own.get(label(frame)) ?? 0) + 1);
      break;
    }
  }
  const leaders = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([name, count]) => `${Math.round((100 * count) / stretch.ids.length)}% ${name}`)
      .join(', ');
  process.stdout.write(
    `${stretch.ms.toFixed(1).padStart(7)} ms  self: ${leaders(self)}\n            in: ${leaders(own)}\n`,
  );
}
