/** The samples of one Prometheus text scrape, looked up by name and labels. */
export class Scrape {
  readonly #samples = new Map<string, number>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match?.[1] || match[3] === undefined) throw new Error(`Not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        if (name !== undefined && value !== undefined) labels[name] = value;
      }
      this.#samples.set(key(match[1], labels), Number(match[3]));
    }
  }

  /** The sample's value; 0 when absent (a counter not yet moved). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.#samples.get(key(name, labels)) ?? 0;
  }

  /** Whether a sample of this name (and labels) is present at all. */
  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.#samples.has(key(name, labels));
  }
}

function key(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => `${label}=${value}`);
  return `${name}{${pairs.join(',')}}`;
}

/** GETs `/metrics` of `origin`, with `token` as a bearer token when given; throws unless 200. */
export async function scrape(origin: string, token?: string): Promise<Scrape> {
  const response = await fetch(`${origin}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
  return new Scrape(text);
}
