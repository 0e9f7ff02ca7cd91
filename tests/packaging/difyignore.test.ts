// The ignore rules must pick files exactly as Dify's packager does (pkg/plugin_packager/decoder/fs.go in
// langgenius/dify-plugin-daemon, go-git gitignore patterns tested one at a time).
import { afterAll, describe, expect, it } from 'vitest';
import { collectPackageFiles, isIgnored, loadIgnoreRules, parseIgnoreLine } from '../../scripts/difyignore.mjs';
import type { IgnoreRule } from '../../scripts/difyignore.mjs';
import { removeTempDirs, tempDir, writeFiles } from './fixture.js';

function rules(...lines: string[]): IgnoreRule[] {
  return lines.map(parseIgnoreLine).filter((rule): rule is IgnoreRule => rule !== null);
}

afterAll(removeTempDirs);

describe('ignore patterns', () => {
  it('skips blank lines and comments, trims the rest', () => {
    expect(parseIgnoreLine('')).toBeNull();
    expect(parseIgnoreLine('   ')).toBeNull();
    expect(parseIgnoreLine('# dist/')).toBeNull();
    expect(parseIgnoreLine('  dist/  ')).toMatchObject({ dirOnly: true, anchored: false, segments: ['dist'] });
  });

  it('matches a bare name at any depth, file or directory', () => {
    const set = rules('node_modules');
    expect(isIgnored(set, 'node_modules', true)).toBe(true);
    expect(isIgnored(set, 'a/b/node_modules', true)).toBe(true);
    expect(isIgnored(set, 'a/node_modules/x.js', false)).toBe(true);
    expect(isIgnored(set, 'node_modules_extra', true)).toBe(false);
  });

  it('keeps files named like a directory-only pattern', () => {
    const set = rules('dist/');
    expect(isIgnored(set, 'dist', true)).toBe(true);
    expect(isIgnored(set, 'dist', false)).toBe(false);
    expect(isIgnored(set, 'sub/dist', true)).toBe(true);
    expect(isIgnored(set, 'dist/plugin.js', false)).toBe(true);
  });

  it('applies globs within one segment', () => {
    const set = rules('*.map', 'data?', 'log[0-9]');
    expect(isIgnored(set, 'dist/plugin.js.map', false)).toBe(true);
    expect(isIgnored(set, 'dist/plugin.js', false)).toBe(false);
    expect(isIgnored(set, 'data1', false)).toBe(true);
    expect(isIgnored(set, 'data', false)).toBe(false);
    expect(isIgnored(set, 'log7', false)).toBe(true);
    expect(isIgnored(set, 'logx', false)).toBe(false);
  });

  it('anchors patterns that contain a slash at the root', () => {
    const set = rules('/build', 'docs/internal');
    expect(isIgnored(set, 'build', true)).toBe(true);
    expect(isIgnored(set, 'src/build', true)).toBe(false);
    expect(isIgnored(set, 'docs/internal', true)).toBe(true);
    expect(isIgnored(set, 'docs/internal/a.md', false)).toBe(true);
    expect(isIgnored(set, 'x/docs/internal', true)).toBe(false);
  });

  it('lets ** span directories', () => {
    const set = rules('**/fixtures', 'assets/**/*.psd');
    expect(isIgnored(set, 'fixtures', true)).toBe(true);
    expect(isIgnored(set, 'a/b/fixtures', true)).toBe(true);
    expect(isIgnored(set, 'assets/x/y/logo.psd', false)).toBe(true);
    expect(isIgnored(set, 'assets/logo.png', false)).toBe(false);
  });

  it('never re-includes with a negation, as Dify tests each pattern alone', () => {
    const set = rules('*.md', '!README.md');
    expect(isIgnored(set, 'README.md', false)).toBe(true);
    expect(isIgnored(rules('!README.md'), 'README.md', false)).toBe(false);
  });
});

describe('choosing the files of a plugin folder', () => {
  it('prefers .difyignore and falls back to .gitignore', async () => {
    const root = await tempDir('ignore');
    await writeFiles(root, {
      '.gitignore': 'dist/\n',
      'dist/plugin.js': '',
      'manifest.yaml': '',
    });
    let loaded = await loadIgnoreRules(root);
    expect(loaded.file).toBe('.gitignore');
    expect(await collectPackageFiles(root, loaded.rules)).toEqual(['.gitignore', 'manifest.yaml']);

    await writeFiles(root, { '.difyignore': '.gitignore\n' });
    loaded = await loadIgnoreRules(root);
    expect(loaded.file).toBe('.difyignore');
    expect(await collectPackageFiles(root, loaded.rules)).toEqual(['.difyignore', 'dist/plugin.js', 'manifest.yaml']);
  });

  it('lists files in byte order like the Go packager, skipping ignored directories whole', async () => {
    const root = await tempDir('order');
    await writeFiles(root, {
      '.difyignore': 'skip/\n',
      'b.txt': '',
      'B.txt': '',
      '_assets/icon.svg': '',
      'a/z.txt': '',
      'skip/deep/file.txt': '',
    });
    const { rules: loaded } = await loadIgnoreRules(root);
    expect(await collectPackageFiles(root, loaded)).toEqual(['.difyignore', 'B.txt', '_assets/icon.svg', 'a/z.txt', 'b.txt']);
  });
});
