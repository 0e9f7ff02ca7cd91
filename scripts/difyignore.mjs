// Chooses the files that go into a .difypkg the way Dify's own packager (`dify plugin package`) does.
//
// Facts from langgenius/dify-plugin-daemon (pkg/plugin_packager/decoder/fs.go, FSPluginDecoder.Walk):
// - rules come from `.difyignore`, or from `.gitignore` when there is no `.difyignore`; blank lines and
//   lines starting with `#` are skipped, every other line is trimmed and parsed as one gitignore pattern;
// - each pattern is tested on its own and a path is left out as soon as one pattern excludes it, so a
//   `!pattern` line never brings a path back (it is a no-op);
// - an excluded directory is skipped with everything under it; there is no built-in default list.
// Pattern meaning follows go-git's gitignore matcher: `name` or `name/` (no inner slash) matches that
// name at any depth, a pattern with an inner or leading slash is anchored at the root, `**` spans any
// number of directories, and `*`, `?`, `[...]` match inside one path segment.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** @typedef {{ source: string, negated: boolean, dirOnly: boolean, anchored: boolean, segments: string[] }} IgnoreRule */

/**
 * Parses one line of an ignore file; returns null for blank and comment lines.
 * @param {string} line
 * @returns {IgnoreRule | null}
 */
export function parseIgnoreLine(line) {
  let text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const source = text;
  const negated = text.startsWith('!');
  if (negated) text = text.slice(1);
  const dirOnly = text.endsWith('/');
  if (dirOnly) text = text.slice(0, -1);
  const anchored = text.includes('/');
  const segments = text.split('/');
  // A leading slash only anchors; it leaves an empty first segment that matches nothing by itself.
  if (segments[0] === '') segments.shift();
  return { source, negated, dirOnly, anchored, segments };
}

/**
 * Reads `.difyignore` (or `.gitignore` when it is absent) from a plugin folder.
 * @param {string} root
 * @returns {Promise<{ file: string | null, rules: IgnoreRule[] }>}
 */
export async function loadIgnoreRules(root) {
  for (const file of ['.difyignore', '.gitignore']) {
    let text;
    try {
      text = await readFile(path.join(root, file), 'utf8');
    } catch (error) {
      if (error && error.code === 'ENOENT') continue;
      throw error;
    }
    const rules = text.split('\n').map(parseIgnoreLine).filter((rule) => rule !== null);
    return { file, rules };
  }
  return { file: null, rules: [] };
}

const globCache = new Map();

/** Turns one segment glob (`*`, `?`, `[...]`, `\x`) into an anchored regular expression. */
function segmentRegExp(glob) {
  let cached = globCache.get(glob);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i];
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < glob.length) {
      i += 1;
      source += escapeRegExp(glob[i]);
    } else if (char === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      // Go's filepath.Match negates a class with `^` only (a leading `!` is a literal).
      const body = glob.slice(i + 1, close);
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += escapeRegExp(char);
  }
  cached = new RegExp(`^${source}$`);
  globCache.set(glob, cached);
  return cached;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function segmentMatches(glob, name) {
  return segmentRegExp(glob).test(name);
}

/** Unanchored name pattern: any segment of the path may match; a dir-only rule never matches the file itself. */
function nameRuleMatches(rule, parts, isDir) {
  const [glob] = rule.segments;
  for (let i = 0; i < parts.length; i += 1) {
    if (!segmentMatches(glob, parts[i])) continue;
    return !(rule.dirOnly && !isDir && i === parts.length - 1);
  }
  return false;
}

/** Anchored pattern: segments are matched from the root; `**` may swallow any number of directories. */
function anchoredRuleMatches(rule, parts, isDir) {
  let rest = parts;
  let matched = false;
  let spanning = false;
  const { segments } = rule;
  for (let i = 0; i < segments.length; i += 1) {
    const glob = segments[i];
    if (glob === '') {
      spanning = false;
      continue;
    }
    if (glob === '**') {
      if (i === segments.length - 1) break; // a trailing `**` matches whatever is left
      spanning = true;
      continue;
    }
    if (glob.includes('**')) return false;
    if (rest.length === 0) return false;
    if (spanning) {
      spanning = false;
      matched = false;
      while (rest.length > 0) {
        const head = rest[0];
        rest = rest.slice(1);
        if (segmentMatches(glob, head)) {
          matched = true;
          break;
        }
      }
      if (!matched) return false;
    } else {
      if (!segmentMatches(glob, rest[0])) return false;
      matched = true;
      rest = rest.slice(1);
    }
  }
  if (matched && rule.dirOnly && !isDir && rest.length === 0) return false;
  return matched;
}

/**
 * True when Dify's packager would leave this path out.
 * @param {IgnoreRule[]} rules
 * @param {string} relativePath posix path relative to the plugin root
 * @param {boolean} isDir
 */
export function isIgnored(rules, relativePath, isDir) {
  const parts = relativePath.split('/');
  for (const rule of rules) {
    if (rule.negated) continue; // evaluated alone, a negation can only "include", which Dify ignores
    const hit = rule.anchored ? anchoredRuleMatches(rule, parts, isDir) : nameRuleMatches(rule, parts, isDir);
    if (hit) return true;
  }
  return false;
}

/**
 * Lists the files Dify's packager would put in the package, as sorted posix paths (Go's byte order).
 * @param {string} root
 * @param {IgnoreRule[]} rules
 * @returns {Promise<string[]>}
 */
export async function collectPackageFiles(root, rules) {
  const files = [];
  async function walk(relativeDir) {
    const entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
    for (const entry of entries) {
      const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      const isDir = entry.isDirectory();
      if (isIgnored(rules, relativePath, isDir)) continue;
      if (isDir) await walk(relativePath);
      else files.push(relativePath);
    }
  }
  await walk('');
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
