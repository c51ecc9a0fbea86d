package banned

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what an entry bans by.
type Kind uint8

// The kinds, in EMQX 5's names.
const (
	ClientID Kind = iota + 1
	Username
	Peerhost
	ClientIDRe
	UsernameRe
	PeerhostNet
)

var kindNames = [...]string{ClientID: "clientid", Username: "username", Peerhost: "peerhost",
	ClientIDRe: "clientid_re", UsernameRe: "username_re", PeerhostNet: "peerhost_net"}

// String returns the kind's EMQX name ("clientid", …, "peerhost_net").
func (k Kind) String() string {
	if k >= ClientID && k <= PeerhostNet {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the kind named s, and false for an unknown name.
func ParseKind(s string) (Kind, bool) {
	for k := ClientID; k <= PeerhostNet; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Limits on an entry's strings.
const (
	// MaxWho bounds who, in bytes (a client id or user name is at most
	// 65,535 bytes; an expression that long is no ban anyone means).
	MaxWho = 65535
	// MaxText bounds by and reason, in bytes.
	MaxText = 1024
)

// Entry is one ban.
type Entry struct {
	As Kind
	// Who is the banned client id, user name, address, expression or
	// network, in canonical form for addresses and networks
	// ("2001:db8::1", "10.0.0.0/8").
	Who string
	// By says who banned (EMQX: "mgmt_api" by default).
	By string
	// Reason says why.
	Reason string
	// At is when the ban began, Unix seconds.
	At int64
	// Until is when it ends, Unix seconds; 0 means never.
	Until int64

	// The parsed who, set by Compile.
	addr netip.Addr
	net  netip.Prefix
	re   *regexp.Regexp
	// lits are literals every match of re contains, and first (when
	// anchored) the bytes a match can begin with: the prefilter.
	lits  []string
	first *byteSet
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *byteSet) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *byteSet) addRange(lo, hi rune) {
	for r := lo; r <= hi && r < 0x80; r++ {
		s.add(byte(r))
	}
	if hi >= 0x80 {
		for b := 0xC0; b < 0x100; b++ { // any multi-byte UTF-8 lead byte
			s.add(byte(b))
		}
	}
}

// Active reports whether e bans at Unix second now.
func (e *Entry) Active(now int64) bool { return e.Until == 0 || e.Until > now }

// Errors of the package.
var (
	// ErrInvalid reports an entry that cannot ban: an empty or over-long
	// who, an address, network or expression that does not parse, an
	// until not after now. The error says which.
	ErrInvalid = errors.New("banned: invalid entry")
	// ErrExists is returned (wrapped in *ExistsError) when an active
	// entry with the same kind and who exists.
	ErrExists = errors.New("banned: already banned")
	// ErrNotFound is returned by Delete when no such entry exists.
	ErrNotFound = errors.New("banned: not found")
)

// ExistsError is Add's error when the entry exists: Entry is the one in
// force.
type ExistsError struct{ Entry Entry }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s %q is already banned", e.Entry.As, e.Entry.Who)
}

// Unwrap makes errors.Is(err, ErrExists) hold.
func (e *ExistsError) Unwrap() error { return ErrExists }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Compile checks e and parses its who: an address or network is put in
// canonical form (a network's host bits cleared, an IPv4-mapped IPv6
// address unmapped), an expression compiled. The strings must be valid
// UTF-8 without U+0000, who 1..MaxWho bytes, by and reason at most
// MaxText.
func (e *Entry) Compile() error {
	if e.As < ClientID || e.As > PeerhostNet {
		return invalid("unknown kind %d", e.As)
	}
	if e.Who == "" {
		return invalid("who is empty")
	}
	if len(e.Who) > MaxWho {
		return invalid("who is longer than %d bytes", MaxWho)
	}
	for name, s := range map[string]string{"who": e.Who, "by": e.By, "reason": e.Reason} {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return invalid("%s is not UTF-8 without U+0000", name)
		}
		if name != "who" && len(s) > MaxText {
			return invalid("%s is longer than %d bytes", name, MaxText)
		}
	}
	switch e.As {
	case Peerhost:
		a, err := netip.ParseAddr(e.Who)
		if err != nil || a.Zone() != "" {
			return invalid("peerhost %q is not an IPv4 or IPv6 address", e.Who)
		}
		e.addr = a.Unmap()
		e.Who = e.addr.String()
	case PeerhostNet:
		p, err := netip.ParsePrefix(e.Who)
		if err != nil {
			return invalid("peerhost_net %q is not a network in CIDR form (10.0.0.0/8, 2001:db8::/32)", e.Who)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		e.net = p.Masked()
		e.Who = e.net.String()
	case ClientIDRe, UsernameRe:
		re, err := regexp.Compile(e.Who)
		if err != nil {
			return invalid("%s %q is not a regular expression: %s", e.As, e.Who, reError(err))
		}
		e.re = re
		e.lits, e.first = prefilter(e.Who)
	}
	return nil
}

// reError is the reason of a regexp error without the expression, which
// the caller quotes already.
func reError(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return err.Error()
}

// Matches reports whether e bans a client with this client id, user name
// ("" for none) and address, ignoring until.
func (e *Entry) Matches(clientid, username string, addr netip.Addr) bool {
	switch e.As {
	case ClientID:
		return clientid == e.Who
	case Username:
		return username != "" && username == e.Who
	case Peerhost:
		return addr.Unmap() == e.addr
	case ClientIDRe:
		return e.matchRe(clientid)
	case UsernameRe:
		return username != "" && e.matchRe(username)
	case PeerhostNet:
		return e.net.Contains(addr.Unmap())
	}
	return false
}

// matchRe runs e's expression on s after the prefilter: a literal the
// expression always matches must be in s.
func (e *Entry) matchRe(s string) bool {
	if e.first != nil && (s == "" || !e.first.has(s[0])) {
		return false
	}
	for _, l := range e.lits {
		if !strings.Contains(s, l) {
			return false
		}
	}
	return e.re.MatchString(s)
}

// prefilter returns literals that every match of expr contains (those of
// the top-level concatenation, case-sensitive ones only) and, for an
// expression anchored at the start of the text, the set of bytes a match
// can begin with. Each is nil when the analysis finds nothing; an
// expression that does not parse has neither.
func prefilter(expr string) (lits []string, first *byteSet) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	var subs []*syntax.Regexp
	switch re.Op {
	case syntax.OpLiteral:
		subs = []*syntax.Regexp{re}
	case syntax.OpConcat:
		subs = re.Sub
	}
	for _, s := range subs {
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 && len(s.Rune) > 0 {
			lits = append(lits, string(s.Rune))
		}
	}
	if len(subs) > 1 && subs[0].Op == syntax.OpBeginText {
		var set byteSet
		if firstBytes(subs[1], &set) {
			first = &set
		}
	}
	return lits, first
}

// firstBytes adds to set the bytes a match of re can begin with and
// reports whether it could tell (false for an expression that can match
// the empty string, or of a shape it does not follow).
func firstBytes(re *syntax.Regexp, set *byteSet) bool {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return false
		}
		r := re.Rune[0]
		set.addRange(r, r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				set.addRange(f, f)
			}
		}
		return true
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			set.addRange(re.Rune[i], re.Rune[i+1])
		}
		return true
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpConcat:
		return len(re.Sub) > 0 && firstBytes(re.Sub[0], set)
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !firstBytes(s, set) {
				return false
			}
		}
		return true
	}
	return false
}
