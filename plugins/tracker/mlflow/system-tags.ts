import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { redactUri } from './connection';

/**
 * The tags Python's fluent `mlflow.start_run` fills in and a REST client must set itself (`mlflow/utils/mlflow_tags.py`):
 * user, source and git facts. Git is read with the `git` command; any failure (no git, not a checkout) leaves those out.
 */

function git(cwd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The user MLflow records (`mlflow.user`): `$USER`, else the OS account name. */
export function currentUser(): string {
  try {
    return process.env.USER || userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `mlflow.user`, `mlflow.source.*` and, inside a git checkout, `mlflow.source.git.*` for `cwd`. */
export function systemTags(cwd = process.cwd()): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.user': currentUser(),
    'mlflow.source.name': basename(process.argv[1] ?? 'shnet'),
    'mlflow.source.type': 'LOCAL',
  };
  const commit = git(cwd, ['rev-parse', 'HEAD']);
  if (!commit) return tags;
  tags['mlflow.source.git.commit'] = commit;
  const branch = git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
  if (branch && branch !== 'HEAD') tags['mlflow.source.git.branch'] = branch;
  // A remote URL may embed a token (`https://user:token@host/…`): it is redacted like any other URI we show.
  const remote = git(cwd, ['config', '--get', 'remote.origin.url']);
  if (remote) tags['mlflow.source.git.repoURL'] = redactUri(remote);
  return tags;
}
