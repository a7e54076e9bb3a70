package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/egress"
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

// CheckAddr checks an address a delivery would connect to: the rule of
// egress.CheckAddr, private addresses allowed when AllowPrivate.
func (t Targets) CheckAddr(ip netip.Addr) error {
	if egress.CheckAddr(ip, t.AllowPrivate) != nil {
		return ErrAddressRefused
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
