/** Host names of this machine's loopback interface, as `new URL(...).hostname` spells them. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A loopback host: a native app's redirect (RFC 8252), a development issuer, a local MCP client's document. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname);
