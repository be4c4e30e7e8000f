import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ObjectStore } from '../runtime/commit';

/**
 * The commit's store in local runs: the keys of one bucket as files, placed by `pathOf` (the
 * local layout of data/, see localPathOf). A folder key (ending '/') maps to a folder, and a key
 * below it to a file below that folder, as S3 keys nest. Folders a delete empties are removed, up
 * to `root`, as S3 has no folders.
 */
export function folderStore(pathOf: (key: string) => string, root: string): ObjectStore {
  const prune = (dir: string) => {
    while (dir.startsWith(root + path.sep) && fs.existsSync(dir) && fs.readdirSync(dir).length === 0) {
      fs.rmdirSync(dir);
      dir = path.dirname(dir);
    }
  };
  return {
    list: (prefix) => {
      const dir = pathOf(prefix);
      const out: Array<{ key: string; size: number }> = [];
      const walk = (rel: string) => {
        const at = path.join(dir, rel);
        if (!fs.existsSync(at)) return;
        for (const e of fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          const r = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) walk(r);
          else if (e.isFile()) out.push({ key: `${prefix}${r}`, size: fs.statSync(path.join(dir, r)).size });
        }
      };
      walk('');
      return Promise.resolve(out);
    },
    // Replaced whole, as S3 replaces an object: a new file renamed over the old one, so a reader
    // (or a hard link of an earlier run's artifacts) never sees the old file change.
    copy: (from, to) => {
      fs.mkdirSync(path.dirname(pathOf(to)), { recursive: true });
      const part = `${pathOf(to)}.batcat-part`;
      fs.copyFileSync(pathOf(from), part);
      fs.renameSync(part, pathOf(to));
      return Promise.resolve();
    },
    delete: (keys) => {
      for (const k of keys) {
        fs.rmSync(pathOf(k), { force: true });
        prune(path.dirname(pathOf(k)));
      }
      return Promise.resolve();
    },
    read: (key) => Promise.resolve(fs.existsSync(pathOf(key)) ? fs.readFileSync(pathOf(key), 'utf8') : undefined),
    write: (key, body) => {
      fs.mkdirSync(path.dirname(pathOf(key)), { recursive: true });
      fs.writeFileSync(pathOf(key), body);
      return Promise.resolve();
    },
    // A local file has one version.
    readRange: async (key, _versionId, start, end) => {
      const file = await fs.promises.open(pathOf(key));
      try {
        const bytes = new Uint8Array(end - start);
        await file.read(bytes, 0, bytes.length, start);
        return bytes;
      } finally {
        await file.close();
      }
    },
  };
}
