// Signs and verifies .difypkg files the way Dify's plugin daemon does, so a daemon configured with the
// matching public key (THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED=true and
// THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS=<path>) accepts the package.
//
// Facts from langgenius/dify-plugin-daemon:
// - pkg/plugin_packager/signer/withkey/sign_with_key.go (SignPluginWithPrivateKey): every file of the
//   package is copied in order while its SHA-256 digest is appended to a buffer; then the file
//   `.verification.dify.json` (JSON `{"authorized_category": ...}`) is added last and its digest appended;
//   then the signing time (Unix seconds, decimal text) is appended. The buffer is signed with RSA
//   PKCS#1 v1.5 over SHA-256 (pkg/utils/encryption/rsa.go, RSASign) and the zip comment is set to
//   `{"signature":"<base64>","time":<seconds>}`.
// - pkg/plugin_packager/decoder/verifier.go (VerifyPluginWithPublicKeys) rebuilds the same buffer from
//   every non-directory entry in central-directory order (the verification file included, being an
//   entry), appends the comment's time, and checks the signature against each trusted key.
// - pkg/plugin_packager/decoder/zip.go reads the comment as JSON and `.verification.dify.json` as the
//   verification record.
// - Keys from `dify signature generate` are PEM "RSA PRIVATE KEY" / "RSA PUBLIC KEY" (PKCS#1).
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import yauzl from 'yauzl';
import yazl from 'yazl';

export const VERIFICATION_FILE = '.verification.dify.json';
export const AUTHORIZED_CATEGORIES = ['langgenius', 'partner', 'community'];

/**
 * Reads every entry of a zip held in memory, in central-directory order.
 * @param {Buffer} zipBuffer
 * @returns {Promise<{ comment: string, entries: { name: string, isDirectory: boolean, data: Buffer }[] }>}
 */
export function readZip(zipBuffer) {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zipBuffer, { lazyEntries: true }, (openError, zip) => {
      if (openError || !zip) {
        reject(openError ?? new Error('cannot open zip'));
        return;
      }
      const entries = [];
      zip.on('error', reject);
      zip.on('end', () => resolve({ comment: zip.comment, entries }));
      zip.on('entry', (entry) => {
        if (entry.fileName.endsWith('/')) {
          entries.push({ name: entry.fileName, isDirectory: true, data: Buffer.alloc(0) });
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) {
            reject(streamError ?? new Error(`cannot read ${entry.fileName}`));
            return;
          }
          const chunks = [];
          stream.on('data', (chunk) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, isDirectory: false, data: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/**
 * Writes files into a zip in the given order.
 * @param {{ name: string, data: Buffer, mode?: number }[]} files
 * @param {{ comment?: string, mtime?: Date }} [options]
 * @returns {Promise<Buffer>}
 */
export function writeZip(files, options = {}) {
  const zip = new yazl.ZipFile();
  const mtime = options.mtime ?? new Date();
  for (const file of files) {
    zip.addBuffer(file.data, file.name, { mtime, mode: file.mode ?? 0o100644 });
  }
  // The comment is ASCII (JSON with base64), which CP437, the zip comment encoding, leaves unchanged.
  const endOptions = options.comment === undefined ? {} : { comment: Buffer.from(options.comment, 'latin1') };
  return new Promise((resolve, reject) => {
    const chunks = [];
    zip.outputStream.on('data', (chunk) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.end(endOptions);
  });
}

function sha256(data) {
  return createHash('sha256').update(data).digest();
}

/**
 * Signs an unsigned package with an RSA private key (PEM, PKCS#1 or PKCS#8).
 * @param {Buffer} zipBuffer
 * @param {string | Buffer} privateKeyPem
 * @param {{ category?: string, time?: number, mtime?: Date }} [options]
 * @returns {Promise<Buffer>}
 */
export async function signPackage(zipBuffer, privateKeyPem, options = {}) {
  const category = options.category ?? 'community';
  if (!AUTHORIZED_CATEGORIES.includes(category)) {
    throw new Error(`authorized category must be one of ${AUTHORIZED_CATEGORIES.join(', ')}, got "${category}"`);
  }
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the signing key must be an RSA private key');

  const { entries } = await readZip(zipBuffer);
  const files = entries.filter((entry) => !entry.isDirectory);
  if (files.some((entry) => entry.name === VERIFICATION_FILE)) {
    throw new Error(`the package already holds ${VERIFICATION_FILE}: sign the unsigned package instead`);
  }
  const digests = files.map((entry) => sha256(entry.data));
  // Same bytes as Go's json.Marshal of decoder.Verification: compact, no trailing newline.
  const verification = Buffer.from(JSON.stringify({ authorized_category: category }), 'utf8');
  digests.push(sha256(verification));
  const time = options.time ?? Math.floor(Date.now() / 1000);
  const signed = Buffer.concat([...digests, Buffer.from(String(time), 'ascii')]);
  const signature = sign('sha256', signed, key).toString('base64');

  return writeZip(
    [...files.map((entry) => ({ name: entry.name, data: entry.data })), { name: VERIFICATION_FILE, data: verification }],
    { comment: JSON.stringify({ signature, time }), mtime: options.mtime },
  );
}

/**
 * Checks a package's signature the way the daemon's VerifyPluginWithPublicKeys does.
 * @param {Buffer} zipBuffer
 * @param {string | Buffer} publicKeyPem PEM "RSA PUBLIC KEY" (PKCS#1) or "PUBLIC KEY" (SPKI)
 * @returns {Promise<{ ok: true, time: number, category: string | null } | { ok: false, reason: string }>}
 */
export async function verifyPackage(zipBuffer, publicKeyPem) {
  let zip;
  try {
    zip = await readZip(zipBuffer);
  } catch (error) {
    return { ok: false, reason: `not a readable zip: ${error.message}` };
  }
  let meta;
  try {
    meta = JSON.parse(zip.comment);
  } catch {
    return { ok: false, reason: 'the zip comment holds no signature (unsigned package)' };
  }
  if (typeof meta?.signature !== 'string' || !Number.isInteger(meta?.time)) {
    return { ok: false, reason: 'the zip comment lacks "signature" or an integer "time"' };
  }
  const files = zip.entries.filter((entry) => !entry.isDirectory);
  const signed = Buffer.concat([...files.map((entry) => sha256(entry.data)), Buffer.from(String(meta.time), 'ascii')]);
  const key = createPublicKey(publicKeyPem);
  const ok = verify('sha256', signed, key, Buffer.from(meta.signature, 'base64'));
  if (!ok) return { ok: false, reason: 'signature does not match the package contents' };
  const record = files.find((entry) => entry.name === VERIFICATION_FILE);
  let category = null;
  if (record) {
    try {
      category = JSON.parse(record.data.toString('utf8')).authorized_category ?? null;
    } catch {
      return { ok: false, reason: `${VERIFICATION_FILE} is not JSON` };
    }
  }
  return { ok: true, time: meta.time, category };
}
