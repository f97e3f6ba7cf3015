// The dashboard link `vigil serve` (and `vigil demo`) print when the runtime generated the local
// gateway token: the secret rides in the URL fragment, which the browser never sends to a server
// (nor puts in a Referer); the page moves it to sessionStorage and out of the address bar.

import { readFile } from 'node:fs/promises';
import type { Runtime } from './runtime.ts';

/** `http://HOST:PORT/#token=SECRET` for the local token; null without a gateway or with configured tokens. */
export async function localDashboardUrl(runtime: Pick<Runtime, 'gatewayUrl' | 'localTokenFile'>): Promise<string | null> {
  if (!runtime.gatewayUrl || !runtime.localTokenFile) return null;
  const secret = (await readFile(runtime.localTokenFile, 'utf8')).trim();
  if (!secret) return null;
  return `${runtime.gatewayUrl.replace(/\/+$/, '')}/#token=${encodeURIComponent(secret)}`;
}
