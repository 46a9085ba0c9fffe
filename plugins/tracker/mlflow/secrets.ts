import { redactText, rememberedSecrets } from 'shnet';
import { redactUri } from './connection';

/**
 * Keeps credentials out of everything a run records. The tracker knows its own secrets (token, password, the
 * user-info of the tracking URI), and shnet knows the values recipes marked `!secret`; any logged value that
 * contains one, or a URI's `user:password@`, is redacted before it is written anywhere.
 */
export class SecretRedactor {
  private readonly secrets: string[];

  constructor(trackingUri: string | undefined, env: NodeJS.ProcessEnv = process.env) {
    const found = [env.MLFLOW_TRACKING_TOKEN, env.MLFLOW_TRACKING_PASSWORD];
    if (trackingUri && /^[a-z][a-z0-9+.-]*:\/\//i.test(trackingUri)) {
      try {
        const url = new URL(trackingUri);
        found.push(decodeURIComponent(url.password), url.password);
      } catch {
        // Not a parseable URL: nothing to take from it.
      }
    }
    // Very short strings would redact ordinary text; real credentials are longer.
    this.secrets = [...new Set(found.filter((s): s is string => !!s && s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** `text` with URI user-info and known secrets replaced by `***`. */
  text(text: string): string {
    let out = text.includes('://') ? text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1***@') : text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('***');
    return redactText(out);
  }

  /**
   * File bytes with known secrets and URI passwords replaced (binary-safe: only exact byte matches of a secret, and
   * `scheme://user:password@` spelled in ASCII, change); undefined when clean.
   */
  bytes(content: Buffer): Buffer | undefined {
    let out = content;
    let changed = false;
    const latin1 = out.toString('latin1');
    if (latin1.includes('://')) {
      const cleaned = latin1.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*:[^/@\s'"]*@/gi, '$1***@');
      if (cleaned !== latin1) {
        out = Buffer.from(cleaned, 'latin1');
        changed = true;
      }
    }
    for (const secret of [...this.secrets, ...rememberedSecrets().filter((s) => s.length >= 4)]) {
      const needle = Buffer.from(secret);
      for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle)) {
        out = Buffer.concat([out.subarray(0, at), Buffer.from('***'), out.subarray(at + needle.length)]);
        changed = true;
      }
    }
    return changed ? out : undefined;
  }
}

export { redactUri };
