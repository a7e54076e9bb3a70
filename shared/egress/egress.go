// Package egress is the rule of where the service connects for a URL
// someone else chose (a webhook's receiver, an identity provider's
// endpoints): which addresses are the service's own networks. Clients
// apply it when connecting (net.Dialer.Control, after DNS), so that a name
// whose answer changes cannot pass.
package egress

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrRefused is an address of the service's own networks (or one never
// to be reached: link-local, multicast, reserved).
var ErrRefused = errors.New("a loopback, private, link-local or otherwise internal address")

// Ranges netip does not classify.
var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")      // "this host on this network"
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")  // carrier-grade NAT
	linkLocalV4 = netip.MustParsePrefix("169.254.0.0/16") // cloud metadata among others
	ietf        = netip.MustParsePrefix("192.0.0.0/24")   // IETF protocol assignments
	benchmark   = netip.MustParsePrefix("198.18.0.0/15")  // network benchmarking
	reserved    = netip.MustParsePrefix("240.0.0.0/4")    // the broadcast address among them
	v4Compat    = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible form
	nat64       = netip.MustParsePrefix("64:ff9b::/96")   // an IPv4 address in its last 32 bits
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64
	discardOnly = netip.MustParsePrefix("100::/64")       // discard prefix
	teredo      = netip.MustParsePrefix("2001::/32")      // a tunnel to an IPv4 address
	orchid      = netip.MustParsePrefix("2001:10::/28")   // not routable
	documentV6  = netip.MustParsePrefix("2001:db8::/32")  // documentation
	sixToFour   = netip.MustParsePrefix("2002::/16")      // an IPv4 address in bits 16-48
	siteLocalV6 = netip.MustParsePrefix("fec0::/10")      // deprecated, still routed inside some networks
)

// CheckDial is CheckAddr at connect time (net.Dialer.Control, after DNS):
// network must be TCP and address the IP and port being connected to.
func CheckDial(network, address string, allowPrivate bool) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRefused, address, err)
	}
	if err := CheckAddr(ap.Addr(), allowPrivate); err != nil {
		return fmt.Errorf("%w: %s", err, ap.Addr())
	}
	return nil
}

// CheckAddr checks an address the service would connect to for someone
// else's URL (a webhook's receiver, an identity provider). Link-local
// addresses (cloud metadata services), multicast and reserved ranges are
// always refused; loopback, private, shared (carrier-grade NAT) and
// unspecified addresses unless allowPrivate. IPv4 addresses written in
// IPv6 (mapped, compatible, NAT64, 6to4, Teredo) are judged as the IPv4
// address they carry. The refusal is ErrRefused.
func CheckAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case ip.IsLoopback(), ip.IsUnspecified():
		case nat64.Contains(ip), v4Compat.Contains(ip):
			return CheckAddr(netip.AddrFrom4([4]byte(b[12:16])), allowPrivate)
		case sixToFour.Contains(ip):
			return CheckAddr(netip.AddrFrom4([4]byte(b[2:6])), allowPrivate)
		case teredo.Contains(ip):
			// The client's address, obfuscated: each bit inverted.
			return CheckAddr(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), allowPrivate)
		}
	}
	switch {
	case !ip.IsValid(),
		ip.IsLinkLocalUnicast(), linkLocalV4.Contains(ip), ip.IsLinkLocalMulticast(),
		ip.IsMulticast(),
		reserved.Contains(ip), benchmark.Contains(ip), ietf.Contains(ip), nat64Local.Contains(ip),
		siteLocalV6.Contains(ip), orchid.Contains(ip), documentV6.Contains(ip), discardOnly.Contains(ip):
		return ErrRefused
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsUnspecified(),
		thisNetwork.Contains(ip), sharedSpace.Contains(ip):
		if !allowPrivate {
			return ErrRefused
		}
	}
	return nil
}
