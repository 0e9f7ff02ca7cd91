// Types for scripts/package.mjs.
export const MAX_PACKAGE_BYTES: number;
export const REQUIRED_FILES: string[];
export class PackageError extends Error {}
export function readManifestIdentity(root: string): Promise<{ name: string; version: string }>;
export function createPackage(options?: {
  root?: string;
  outDir?: string;
  signKeyPath?: string;
  category?: string;
}): Promise<{
  path: string;
  files: string[];
  ignoreFile: string | null;
  uncompressedBytes: number;
  bytes: number;
  signed: boolean;
}>;
