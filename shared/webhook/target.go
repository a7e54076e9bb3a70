package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Targets says where deliveries may go: a URL is checked when an endpoint
// is registered or changed and again before every attempt, and every
// address a delivery connects to is checked at the moment of connecting
// (after DNS, so a name that changes its answer cannot pass).
type Targets struct {
	// HTTPSOnly refuses http:// URLs (production).
	HTTPSOnly bool
	// AllowPrivate lets deliveries reach loopback, private and unspecified
	// addresses (webhooks.allow_private_targets): for receivers on the
	// same host or network. Link-local addresses stay refused.
	AllowPrivate bool
}

// CheckURL checks an endpoint's URL: absolute http(s) (https alone when
// HTTPSOnly), no user info, no fragment, a DNS name or a canonical IP
// literal whose address CheckAddr allows. The error names the field "url".
func (t Targets) CheckURL(raw string) error {
	if err := t.checkURL(raw); err != nil {
		return apperr.Invalid(apperr.FieldError{Field: "url", Message: err.Error()})
	}
	return nil
}

func (t Targets) checkURL(raw string) error {
	if raw == "" {
		return errors.New("url is required")
	}
	if len(raw) > MaxURLLen {
		return errors.New("url must be at most 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return errors.New("url must be an absolute http or https URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if t.HTTPSOnly {
			return errors.New("url must use https")
		}
	default:
		return errors.New("url must be an absolute http or https URL")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return errors.New("url must not carry user info (put credentials in the path, or verify the signature)")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("url must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("url has an invalid port")
		}
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return errors.New("url must not name an address with a zone")
		}
		return t.CheckAddr(ip)
	}
	if numeric(host) {
		return errors.New("url must write an IP address in its canonical form")
	}
	if !dnsName(host) {
		return errors.New("url must have a valid host name")
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !t.AllowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return ErrAddressRefused
	}
	return nil
}

// ErrAddressRefused is an address deliveries may not reach.
var ErrAddressRefused = errors.New("url must not lead to a loopback, private, link-local or otherwise internal address")

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

// CheckAddr checks an address a delivery would connect to. Link-local
// addresses (cloud metadata services), multicast and reserved ranges are
// always refused; loopback, private, shared (carrier-grade NAT) and
// unspecified addresses unless AllowPrivate. IPv4 addresses written in
// IPv6 (mapped, compatible, NAT64, 6to4, Teredo) are judged as the IPv4
// address they carry.
func (t Targets) CheckAddr(ip netip.Addr) error {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case ip.IsLoopback(), ip.IsUnspecified():
		case nat64.Contains(ip), v4Compat.Contains(ip):
			return t.CheckAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return t.CheckAddr(netip.AddrFrom4([4]byte(b[2:6])))
		case teredo.Contains(ip):
			// The client's address, obfuscated: each bit inverted.
			return t.CheckAddr(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
		}
	}
	switch {
	case !ip.IsValid(),
		ip.IsLinkLocalUnicast(), linkLocalV4.Contains(ip), ip.IsLinkLocalMulticast(),
		ip.IsMulticast(),
		reserved.Contains(ip), benchmark.Contains(ip), ietf.Contains(ip), nat64Local.Contains(ip),
		siteLocalV6.Contains(ip), orchid.Contains(ip), documentV6.Contains(ip), discardOnly.Contains(ip):
		return ErrAddressRefused
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsUnspecified(),
		thisNetwork.Contains(ip), sharedSpace.Contains(ip):
		if !t.AllowPrivate {
			return ErrAddressRefused
		}
	}
	return nil
}

// numeric reports whether host's last label starts with a digit: an
// IPv4 number in some form (2130706433, 0x7f.1, 0177.0.0.1, 127.1), which
// some resolvers accept and Go's does not; no top-level domain is numeric.
func numeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	return last != "" && last[0] >= '0' && last[0] <= '9'
}

// dnsName reports whether host is a syntactically valid DNS name: labels
// of letters, digits and hyphens (underscores too, as some services use),
// each 1-63 bytes, not starting or ending with a hyphen, 253 bytes in all.
func dnsName(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !nameByte(c) {
				return false
			}
		}
	}
	return true
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
