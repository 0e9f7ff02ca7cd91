// Types for scripts/difyignore.mjs (plain ESM so `npm run package` needs no TypeScript step).
export interface IgnoreRule {
  source: string;
  negated: boolean;
  dirOnly: boolean;
  anchored: boolean;
  segments: string[];
}
export function parseIgnoreLine(line: string): IgnoreRule | null;
export function loadIgnoreRules(root: string): Promise<{ file: string | null; rules: IgnoreRule[] }>;
export function isIgnored(rules: IgnoreRule[], relativePath: string, isDir: boolean): boolean;
export function collectPackageFiles(root: string, rules: IgnoreRule[]): Promise<string[]>;
