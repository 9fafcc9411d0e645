import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * The host names a server listening on `listenHost` answers for (DNS rebinding guard): the
 * loopback names, the listen host itself, and, when it listens on every interface (`0.0.0.0`,
 * `::`), this machine's host name and interface addresses. `extra` adds names (`reviews.example.com`,
 * `.example.com` for every subdomain); `'*'` turns the check off.
 */
export function allowedHostSet(listenHost: string, extra: readonly string[] = []): { any: boolean; names: Set<string>; suffixes: string[] } {
  const names = new Set(LOOPBACK_NAMES);
  const suffixes: string[] = [];
  let any = false;
  const add = (h: string) => {
    const n = normaliseHost(h);
    if (n === '*') any = true;
    else if (n.startsWith('.')) suffixes.push(n);
    else if (n) names.add(n);
  };
  if (WILDCARD_HOSTS.has(listenHost)) {
    add(hostname());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
  } else add(listenHost);
  for (const h of extra) add(h);
  return { any, names, suffixes };
}

/** Lower case, no brackets around IPv6, no trailing dot. */
export function normaliseHost(h: string): string {
  let n = h.trim().toLowerCase();
  if (n.startsWith('[') && n.endsWith(']')) n = n.slice(1, -1);
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** The host part of a Host header (`example.com:7070` → `example.com`, `[::1]:7070` → `::1`). */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? undefined : normaliseHost(h.slice(0, end + 1));
  }
  const colon = h.indexOf(':');
  return normaliseHost(colon < 0 ? h : h.slice(0, colon));
}

/** True when a request's Host header names a host in `allowed`. */
export function isAllowedHost(header: string | undefined, allowed: ReturnType<typeof allowedHostSet>): boolean {
  if (allowed.any) return true;
  const host = hostOfHeader(header);
  if (!host) return false;
  return allowed.names.has(host) || allowed.suffixes.some((s) => host.endsWith(s));
}
