// Signing follows the daemon (signer/withkey/sign_with_key.go); verification mirrors decoder/verifier.go.
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZip, signPackage, VERIFICATION_FILE, verifyPackage, writeZip } from '../../scripts/sign.mjs';
import { makeFixturePlugin, packageScript, removeTempDirs, tempDir, writeFiles } from './fixture.js';

const run = promisify(execFile);

// The same key formats `dify signature generate` writes: PKCS#1 PEM for both halves.
function rsaKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
}

const keys = rsaKeys();
const otherKeys = rsaKeys();
let signed: Buffer;
let unsigned: Buffer;

beforeAll(async () => {
  const root = await makeFixturePlugin();
  const work = await tempDir('keys');
  const keyPath = path.join(work, 'key.pem');
  await writeFiles(work, { 'key.pem': keys.privateKey });
  const outSigned = await tempDir('signed');
  const outUnsigned = await tempDir('unsigned');
  const first = await run(process.execPath, [packageScript, '--root', root, '--out', outSigned, '--sign', keyPath]);
  expect(first.stdout).toContain('signed');
  await run(process.execPath, [packageScript, '--root', root, '--out', outUnsigned]);
  signed = await readFile(path.join(outSigned, 'fixture_plugin-1.2.3.difypkg'));
  unsigned = await readFile(path.join(outUnsigned, 'fixture_plugin-1.2.3.difypkg'));
});

afterAll(removeTempDirs);

describe('signed package', () => {
  it('stores the signature and time as JSON in the zip comment and the verification record last', async () => {
    const zip = await readZip(signed);
    const comment = JSON.parse(zip.comment) as { signature: string; time: number };
    expect(Object.keys(comment)).toEqual(['signature', 'time']);
    expect(Math.abs(comment.time - Date.now() / 1000)).toBeLessThan(120);
    expect(Buffer.from(comment.signature, 'base64')).toHaveLength(256);
    const last = zip.entries.at(-1);
    expect(last?.name).toBe(VERIFICATION_FILE);
    expect(last?.data.toString('utf8')).toBe('{"authorized_category":"community"}');
    // Everything else is exactly the unsigned package's content, in the same order.
    const plain = await readZip(unsigned);
    expect(zip.entries.slice(0, -1).map((entry) => [entry.name, entry.data.toString('base64')])).toEqual(
      plain.entries.map((entry) => [entry.name, entry.data.toString('base64')]),
    );
  });

  it('passes a check written straight from the daemon algorithm (independent of verifyPackage)', async () => {
    const zip = await readZip(signed);
    const comment = JSON.parse(zip.comment) as { signature: string; time: number };
    const parts = zip.entries
      .filter((entry) => !entry.isDirectory)
      .map((entry) => createHash('sha256').update(entry.data).digest());
    parts.push(Buffer.from(String(comment.time)));
    expect(verify('sha256', Buffer.concat(parts), keys.publicKey, Buffer.from(comment.signature, 'base64'))).toBe(true);
  });

  it('verifies with the matching public key only', async () => {
    expect(await verifyPackage(signed, keys.publicKey)).toEqual({ ok: true, time: expect.any(Number), category: 'community' });
    expect(await verifyPackage(signed, otherKeys.publicKey)).toMatchObject({ ok: false });
    expect(await verifyPackage(unsigned, keys.publicKey)).toMatchObject({ ok: false, reason: expect.stringContaining('unsigned') });
  });

  it('fails once a file is changed, even with the original comment kept', async () => {
    const zip = await readZip(signed);
    const tampered = zip.entries.map((entry) =>
      entry.name === 'dist/plugin.js' ? { name: entry.name, data: Buffer.from('export const evil = 1;\n') } : entry,
    );
    const rebuilt = await writeZip(tampered, { comment: zip.comment });
    expect(await verifyPackage(rebuilt, keys.publicKey)).toEqual({ ok: false, reason: 'signature does not match the package contents' });
  });

  it('fails when the signing time is changed', async () => {
    const zip = await readZip(signed);
    const comment = JSON.parse(zip.comment) as { signature: string; time: number };
    const rebuilt = await writeZip(zip.entries, { comment: JSON.stringify({ ...comment, time: comment.time + 1 }) });
    expect(await verifyPackage(rebuilt, keys.publicKey)).toMatchObject({ ok: false });
  });

  it('fails when a byte of the file is flipped', async () => {
    const copy = Buffer.from(signed);
    const at = copy.indexOf(Buffer.from('PK\x01\x02')) - 20; // inside the compressed data of the last entries
    copy[at] = (copy[at] ?? 0) ^ 0xff;
    expect(await verifyPackage(copy, keys.publicKey)).toMatchObject({ ok: false });
  });

  it('refuses to sign twice and rejects unknown categories', async () => {
    await expect(signPackage(signed, keys.privateKey)).rejects.toThrow(VERIFICATION_FILE);
    await expect(signPackage(unsigned, keys.privateKey, { category: 'gold' })).rejects.toThrow('authorized category');
  });
});
