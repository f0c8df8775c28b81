// Where the threaded worker's time goes (#24 item 5): Chromium's own sampling profiler (the
// trace category V8 feeds the performance panel with) records every thread of the page while the
// worker measures its training speed (Engine check → Measure speed) on a pool of THREADS
// threads. Each sample is charged to the wasm function it landed in (the build must keep the
// name section: `make profile-threads` builds such a worker), and the functions are grouped by
// what they are: kernels, the allocator, rayon's pool (scheduling and parked in a futex wait),
// autodiff's graph and the rest. A profiler, not a test: `make test` skips it.
import { writeFile, mkdir } from 'node:fs/promises';
import { test, waitForBackend, openView, measureSpeed, uploadDigits, learnNextTwo } from './fixtures.mjs';

const OUT = 'target/threads-profile';
const THREADS = Number(process.env.THREADS ?? 2);
// What is profiled: `speed` (Engine check → Measure speed) or `step` (the PROFILE_STEP-th
// classroom step of bench-step-time's run: 60 uploaded Split-MNIST digits a class, 2 a step).
const WORK = process.env.PROFILE_WORK ?? 'speed';
const PROFILE_STEP = Number(process.env.PROFILE_STEP ?? 3);
const DATA = process.env.STEP_TIME_DATA ?? '../shared/data/split-mnist';

// What a sampled function is, by its (demangled) name. Order matters: the first match wins.
const GROUPS = [
  ['parked (waiting for work or a latch)', /futex_wait|Condvar>::wait|Sleep>::sleep|atomic\.wait|Atomics\.wait|wait32|park/i],
  ['allocator', /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|alloc::alloc|\bmalloc\b|\bfree\b|memory\.grow|sys::alloc/i],
  ['memset/memcpy', /memset|memcpy|memmove|compiler_builtins::mem/i],
  ['rayon (scheduling)', /rayon|crossbeam|job|registry|latch|steal|sleep/i],
  ['GEMM', /gemm/i],
  ['convolution (im2col)', /conv_nchw|im2col|col2im/i],
  ['batch norm', /batch_norm/i],
  ['autodiff graph', /burn_autodiff/i],
  ['other flex kernels', /burn_flex|burn_backend|burn_tensor|macerator|pulp/i],
  ['V8: idle/program/GC', /^\((idle|program|garbage collector|root)\)$/],
];
const groupOf = (name) => (GROUPS.find(([, re]) => re.test(name)) ?? ['other'])[0];

test('where the threaded worker spends its time', { tag: '@threads' }, async ({ openPage, isolatedSite }) => {
  test.skip(!process.env.THREADS_PROFILE, 'a profiler: make profile-threads');
  test.setTimeout(60 * 60_000);
  const { page, context } = await openPage(`${isolatedSite}?backend=cpu&threads=${THREADS}`);
  await waitForBackend(page);
  if (WORK === 'speed') {
    await openView(page, 'check');
  } else {
    await uploadDigits(page, DATA, 2 * PROFILE_STEP);
    for (let step = 1; step < PROFILE_STEP; step++) await learnNextTwo(page, step);
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send('Tracing.start', {
    transferMode: 'ReturnAsStream',
    traceConfig: {
      recordMode: 'recordContinuously',
      includedCategories: ['__metadata', 'disabled-by-default-v8.cpu_profiler', 'v8.execute', 'toplevel'],
    },
  });
  const started = Date.now();
  let rows = [];
  if (WORK === 'speed') rows = await measureSpeed(page);
  else await learnNextTwo(page, PROFILE_STEP);
  const wallMs = Date.now() - started;
  const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  const { stream } = await done;
  let text = '';
  for (;;) {
    const chunk = await cdp.send('IO.read', { handle: stream, size: 1 << 20 });
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data;
    if (chunk.eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  const events = JSON.parse(text).traceEvents ?? JSON.parse(text);

  // Every thread's profile: nodes (id → name) and samples with time deltas.
  const profiles = new Map();
  for (const e of events) {
    if (e.name !== 'ProfileChunk' && e.name !== 'Profile') continue;
    const key = `${e.pid}:${e.tid}:${e.id}`;
    const p = profiles.get(key) ?? { thread: `${e.pid}:${e.tid}`, nodes: new Map(), samples: [], deltas: [] };
    profiles.set(key, p);
    const cpu = e.args?.data?.cpuProfile;
    for (const n of cpu?.nodes ?? []) p.nodes.set(n.id, n.callFrame.functionName || `(anonymous ${n.callFrame.url ?? ''})`);
    p.samples.push(...(cpu?.samples ?? []));
    p.deltas.push(...(e.args?.data?.timeDeltas ?? []));
  }
  const threads = [];
  for (const p of profiles.values()) {
    const byFunction = new Map();
    const byGroup = new Map();
    let total = 0;
    for (let i = 0; i < p.samples.length; i++) {
      // A sample's time is the gap to the next one (the last sample gets the mean gap).
      const ms = (i + 1 < p.deltas.length ? p.deltas[i + 1] : 1000) / 1000;
      const name = p.nodes.get(p.samples[i]) ?? '?';
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
      const g = groupOf(name);
      byGroup.set(g, (byGroup.get(g) ?? 0) + ms);
      total += ms;
    }
    if (total < 100) continue;
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25);
    // Chromium names every profiled thread after its sampler, so a thread is told by its work:
    // a pool thread runs kernels, the page's thread is mostly idle in V8, and the worker's own
    // thread (which hands each update to the pool) is the rest.
    const share = (g) => (byGroup.get(g) ?? 0) / total;
    const role = share('GEMM') + share('convolution (im2col)') > 0.1 ? 'pool thread'
      : share('V8: idle/program/GC') > 0.8 ? 'page (main thread)' : "worker's own thread";
    threads.push({ thread: `${role} ${p.thread}`, role, total_ms: total, groups: Object.fromEntries(byGroup), top });
  }
  threads.sort((a, b) => a.role.localeCompare(b.role) || b.total_ms - a.total_ms);

  const what = WORK === 'speed' ? 'Measure speed' : `classroom step ${PROFILE_STEP}`;
  let md = `Threaded worker, ${THREADS} thread(s), ${what} (${(wallMs / 1000).toFixed(1)} s wall); speed rows: ${rows.map((r) => `${r.case} (${r.branches}) ${r.median_ms.toFixed(1)} ms`).join('; ')}\n\n`;
  const groups = [...GROUPS.map(([g]) => g), 'other'];
  md += `| thread | sampled s | ${groups.join(' | ')} |\n|---|---:|${groups.map(() => '---:').join('|')}|\n`;
  for (const t of threads) {
    md += `| ${t.thread} | ${(t.total_ms / 1000).toFixed(1)} | ${groups.map((g) => `${(100 * (t.groups[g] ?? 0) / t.total_ms).toFixed(1)}%`).join(' | ')} |\n`;
  }
  for (const t of threads.filter((x) => x.role !== 'page (main thread)')) {
    md += `\n${t.thread}: top functions by self time\n\n${t.top.map(([f, ms]) => `- ${(ms / 1000).toFixed(2)} s ${f.slice(0, 160)}`).join('\n')}\n`;
  }
  console.log(md);
  await mkdir(OUT, { recursive: true });
  await writeFile(`${OUT}/profile-${WORK}-${THREADS}.md`, md);
  await writeFile(`${OUT}/profile-${WORK}-${THREADS}.json`, JSON.stringify({ date: new Date().toISOString(), threads_in_pool: THREADS, wallMs, rows, threads }, null, 2));
});
