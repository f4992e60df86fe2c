import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPreviewFiles, PAGES_MAX_FILE_BYTES, PreviewFilesError } from './pages-preview-files.js';

describe('checkPreviewFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'preview-files-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html>');
    await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const problemsOf = async (): Promise<string[]> => {
    try {
      await checkPreviewFiles(dir);
      return [];
    } catch (error) {
      if (error instanceof PreviewFilesError) return error.problems;
      throw error;
    }
  };

  it('lists a static build with its size', async () => {
    expect(await checkPreviewFiles(dir)).toEqual({ files: ['assets/index-abc.js', 'index.html'], bytes: 29 });
  });

  it.each(['_worker.js', '_routes.json'])('refuses %s at the top (Pages would run code)', async (name) => {
    await writeFile(join(dir, name), 'export default { fetch() {} }');
    expect(await problemsOf()).toEqual([
      `${name}: Pages would run it as code (previews serve static files only)`,
    ]);
  });

  it('refuses a _worker.js folder (advanced mode with modules)', async () => {
    await mkdir(join(dir, '_worker.js'));
    await writeFile(join(dir, '_worker.js', 'index.js'), 'export default {}');
    expect(await problemsOf()).toEqual([expect.stringMatching(/^_worker\.js: Pages would run it as code/)]);
  });

  it('accepts a file named _worker.js below the top (served as a file)', async () => {
    await writeFile(join(dir, 'assets', '_worker.js'), '1');
    expect((await checkPreviewFiles(dir)).files).toContain('assets/_worker.js');
  });

  it("refuses symbolic links, which would upload the deploying runner's files", async () => {
    await symlink('/proc/self/environ', join(dir, 'assets', 'env.txt'));
    await symlink('/etc', join(dir, 'etc'));
    expect(await problemsOf()).toEqual(['assets/env.txt: a symbolic link', 'etc: a symbolic link']);
  });

  it("refuses a file over Pages' size limit and a build without index.html, listing both", async () => {
    await rm(join(dir, 'index.html'));
    await writeFile(join(dir, 'big.bin'), '');
    await truncate(join(dir, 'big.bin'), PAGES_MAX_FILE_BYTES + 1);
    expect(await problemsOf()).toEqual([
      `big.bin: ${PAGES_MAX_FILE_BYTES + 1} bytes, over Pages' ${PAGES_MAX_FILE_BYTES} per file`,
      'no index.html: not a dashboard build',
    ]);
  });

  it('refuses what is not a directory', async () => {
    await expect(checkPreviewFiles(join(dir, 'index.html'))).rejects.toThrow(/is not a directory/);
  });
});
