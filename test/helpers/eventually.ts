// The one poll helper of the tests: ask until the answer is there, or fail naming what never happened. Never a
// timing assertion: the deadline only bounds a wait for something that must happen.
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${Math.round((options.timeoutMs ?? 30_000) / 1000)} s`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
