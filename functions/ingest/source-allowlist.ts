/**
 * The optional source-address allowlist of the IPN endpoint (`allowedSourceCidrs`, passed to the
 * function as OKEPAY_ALLOWED_SOURCE_CIDRS). HTTP APIs cannot take AWS WAF, so the ingest function
 * checks the caller's address itself, before any other work. Node's `net.BlockList` does the matching:
 * it is used here as an allow list (an address "in the block list" is an allowed one).
 */
import { BlockList, isIP } from 'node:net';

/** A CIDR of the list is not `address/prefix` with a valid IPv4 or IPv6 address and prefix. */
export class InvalidCidrError extends Error {
  override readonly name = 'InvalidCidrError';
  constructor(readonly cidr: string) {
    super(`"${cidr}" is not an IPv4 or IPv6 CIDR such as "203.0.113.0/24" or "2001:db8::/32"`);
  }
}

/** `::ffff:203.0.113.9`, an IPv4 address written as IPv6 by a dual-stack socket. */
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export class SourceAllowlist {
  private readonly allowed = new BlockList();

  /** @throws {InvalidCidrError} for the first CIDR that is not one. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefixText = '', ...rest] = cidr.split('/');
      const family = isIP(address);
      const prefix = Number(prefixText);
      const maxPrefix = family === 4 ? 32 : 128;
      if (family === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefixText) || prefix > maxPrefix) {
        throw new InvalidCidrError(cidr);
      }
      this.allowed.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** Reads a comma-separated list, as the stack writes OKEPAY_ALLOWED_SOURCE_CIDRS. */
  static parse(list: string): SourceAllowlist {
    return new SourceAllowlist(
      list
        .split(',')
        .map((cidr) => cidr.trim())
        .filter((cidr) => cidr !== ''),
    );
  }

  /** Whether `address` lies in one of the CIDRs; a missing or malformed address never does. */
  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    // Checked as the IPv4 address it carries, so an IPv4 CIDR covers it whatever BlockList does.
    const mapped = IPV4_MAPPED.exec(address)?.[1];
    const candidate = mapped ?? address;
    const family = isIP(candidate);
    if (family === 0) return false;
    return this.allowed.check(candidate, family === 4 ? 'ipv4' : 'ipv6');
  }
}
