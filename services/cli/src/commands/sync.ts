// `vigil lists sync NAME --from folder:DIR | file:PATH | url:URL | ncmec | stopncii`: pulls
// every delivery the source has after its stored checkpoint into the list's next versions.
// Credentials for the exchanges come from the environment (never from argv, which `ps` shows).

import { FileSource, FolderDropSource, NcmecSource, StopNciiSource, UrlDropSource, type HashListSource } from '@vigil/hashlists';
import type { ListAlgorithm, ListFormat } from '@vigil/matching';

export interface SyncCliOptions {
  from: string;
  algo?: ListAlgorithm;
  format: ListFormat;
}

/** The source `--from` names, or an error message. */
export function sourceFor(name: string, options: SyncCliOptions, env: NodeJS.ProcessEnv): HashListSource | { error: string } {
  const [kind, ...rest] = options.from.split(':');
  const target = rest.join(':');
  const id = `${name}:${options.from}`;
  const needAlgo = () => (options.algo ? null : { error: `--from ${kind} needs --algo` });
  switch (kind) {
    case 'folder':
      return needAlgo() ?? new FolderDropSource(target, { id, algorithm: options.algo!, format: options.format });
    case 'file':
      return needAlgo() ?? new FileSource(target, { id, algorithm: options.algo!, format: options.format });
    case 'url':
      return needAlgo() ?? new UrlDropSource(options.from.slice('url:'.length), { id, algorithm: options.algo!, format: options.format });
    case 'ncmec': {
      const { VIGIL_NCMEC_URL: url, VIGIL_NCMEC_USERNAME: username, VIGIL_NCMEC_PASSWORD: password } = env;
      if (!url || !username || !password) return { error: 'ncmec needs VIGIL_NCMEC_URL, VIGIL_NCMEC_USERNAME and VIGIL_NCMEC_PASSWORD' };
      const algorithm = options.algo ?? 'md5';
      if (algorithm !== 'md5' && algorithm !== 'sha1' && algorithm !== 'pdq') return { error: 'ncmec lists are md5, sha1 or pdq' };
      return new NcmecSource({ id, baseUrl: url, algorithm, username, password });
    }
    case 'stopncii': {
      const { VIGIL_STOPNCII_URL: url, VIGIL_STOPNCII_SUBSCRIPTION_KEY: subscriptionKey, VIGIL_STOPNCII_FETCH_KEY: fetchFunctionKey } = env;
      if (!url || !subscriptionKey || !fetchFunctionKey) return { error: 'stopncii needs VIGIL_STOPNCII_URL, VIGIL_STOPNCII_SUBSCRIPTION_KEY and VIGIL_STOPNCII_FETCH_KEY' };
      return new StopNciiSource({ id, baseUrl: url, subscriptionKey, fetchFunctionKey });
    }
    default:
      return { error: `unknown source ${JSON.stringify(kind)}: folder:DIR, file:PATH, url:URL, ncmec or stopncii` };
  }
}
