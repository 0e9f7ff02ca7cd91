// Writes the embedded database's start template (dist/pglite-template.tar.gz, read by src/store/pool.ts) so that two
// builds of the same sources give the same bytes, and so that it never carries a postmaster.pid.
//
//   node scripts/pglite-template.mjs OUT.tar.gz
//
// Run as its own process (scripts/build.mjs spawns it) because it replaces the clock and the entropy source for the
// whole process: initdb stamps pg_control and the WAL with the wall clock, a system identifier made from the clock,
// and a random nonce (PostgreSQL's mock_authentication_nonce, only used to answer password logins for unknown
// roles, which embedded PGlite never serves). A fixed clock and a seeded generator make those bytes the same on every
// build. Every install of one package already shares one template, so this changes nothing an install can see.
// The tar is then written anew: entries sorted by name, one fixed mtime, owner 0:0, no postmaster.pid, and gzip
// without a name or a timestamp in its header.
import crypto from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

// SOURCE_DATE_EPOCH (seconds) is the usual way to pin a build's timestamps; 2000-01-01 otherwise, as scripts/package.mjs.
const EPOCH_MS = process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.UTC(2000, 0, 1);
/** Files a data directory must not carry into another process: the lock of the process that wrote it. */
const DROPPED = new Set(['postmaster.pid']);

/** Makes Date.now, performance.now and the random sources of this process deterministic. */
function pinClockAndEntropy() {
  // The clock moves 1 ms per reading so nothing that waits for time to pass can spin forever.
  let now = EPOCH_MS;
  Date.now = () => now++;
  let elapsed = 0;
  performance.now = () => (elapsed += 1);
  // xorshift32: small, seeded, enough for bytes nobody relies on being secret here (see the comment at the top).
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const fill = (view) => {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    return view;
  };
  crypto.randomFillSync = fill;
  globalThis.crypto.getRandomValues = fill;
  Math.random = () => next() / 2 ** 32;
}

/**
 * Reads a tar archive into its entries (header + content).
 * @param {Buffer} archive uncompressed tar
 * @returns {Promise<Array<{ header: import('tar-stream').Headers, data: Buffer }>>}
 */
export async function readTar(archive) {
  const entries = [];
  const extract = tar.extract();
  const done = new Promise((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => {
        entries.push({ header, data: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([archive]).pipe(extract);
  await done;
  return entries;
}

/** Basename of a tar entry name ("/postmaster.pid" → "postmaster.pid"). */
function baseName(name) {
  return name.replace(/\/+$/, '').split('/').pop() ?? '';
}

/**
 * Writes entries as a gzip'd tar that depends on their names, modes and contents only.
 * @param {Array<{ header: import('tar-stream').Headers, data: Buffer }>} entries
 * @returns {Promise<Buffer>}
 */
export async function normalisedTarGz(entries) {
  const kept = entries
    .filter((entry) => !DROPPED.has(baseName(entry.header.name)))
    .sort((a, b) => (a.header.name < b.header.name ? -1 : a.header.name > b.header.name ? 1 : 0));
  const pack = tar.pack();
  const chunks = [];
  pack.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const { header, data } of kept) {
    const isDir = header.type === 'directory';
    pack.entry(
      {
        name: header.name,
        type: isDir ? 'directory' : 'file',
        mode: header.mode,
        mtime: new Date(EPOCH_MS),
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        size: isDir ? 0 : data.length,
      },
      isDir ? undefined : data,
    );
  }
  pack.finalize();
  await ended;
  // Node's gzip header has no file name and a zero mtime; level 9 for the smallest package.
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** Names of the entries in a .tar.gz (for tests and checks). */
export async function listTarGz(file) {
  return (await readTar(gunzipSync(file))).map((entry) => entry.header.name);
}

/**
 * Creates an empty PGlite data directory and writes it as a template. Call only in a process of its own (see top).
 * @param {string} outFile
 */
async function writeTemplate(outFile) {
  pinClockAndEntropy();
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create('memory://');
  try {
    await db.exec('CHECKPOINT');
    const dump = await db.dumpDataDir('none');
    const entries = await readTar(Buffer.from(await dump.arrayBuffer()));
    await writeFile(outFile, await normalisedTarGz(entries));
  } finally {
    await db.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outFile = process.argv[2];
  if (!outFile) {
    process.stderr.write('usage: node scripts/pglite-template.mjs OUT.tar.gz\n');
    process.exit(2);
  }
  await writeTemplate(outFile);
}
