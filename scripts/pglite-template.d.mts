// Types for scripts/pglite-template.mjs (the parts tests use).
export function listTarGz(file: Buffer): Promise<string[]>;
