/** Directory trees as `relative path → sha256`, for byte-identity comparisons. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFiles, sha256 } from '../../src/core/fsutil.ts';

/** Every file under `dir` (hidden ones included) with the SHA-256 of its bytes. */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listFiles(dir)) out[f] = sha256(fs.readFileSync(path.join(dir, f)));
  return out;
}
