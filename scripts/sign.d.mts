// Types for scripts/sign.mjs.
export const VERIFICATION_FILE: '.verification.dify.json';
export const AUTHORIZED_CATEGORIES: string[];
export interface ZipEntry {
  name: string;
  isDirectory: boolean;
  data: Buffer;
}
export function readZip(zipBuffer: Buffer): Promise<{ comment: string; entries: ZipEntry[] }>;
export function writeZip(
  files: { name: string; data: Buffer; mode?: number }[],
  options?: { comment?: string; mtime?: Date },
): Promise<Buffer>;
export function signPackage(
  zipBuffer: Buffer,
  privateKeyPem: string | Buffer,
  options?: { category?: string; time?: number; mtime?: Date },
): Promise<Buffer>;
export function verifyPackage(
  zipBuffer: Buffer,
  publicKeyPem: string | Buffer,
): Promise<{ ok: true; time: number; category: string | null } | { ok: false; reason: string }>;
