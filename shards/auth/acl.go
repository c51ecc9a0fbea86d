package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/shardmq/shardmq/mqtt"
)

// Action is what a client asks to do with a topic.
type Action uint8

// Actions; All is both, for rules.
const (
	// Publish is a PUBLISH (or a will) to a topic name.
	Publish Action = 1 << iota
	// Subscribe is a SUBSCRIBE to a topic filter.
	Subscribe
	// All matches both in a rule.
	All = Publish | Subscribe
)

// String returns the action's ACL file keyword.
func (a Action) String() string {
	switch a {
	case Publish:
		return "publish"
	case Subscribe:
		return "subscribe"
	case All:
		return "all"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// WhoKind says which property of a client a rule matches.
type WhoKind uint8

// Kinds of who.
const (
	// WhoAll matches every client.
	WhoAll WhoKind = iota
	// WhoUser matches the client's user name.
	WhoUser
	// WhoClientID matches the client id.
	WhoClientID
	// WhoIPAddr matches the client's IP address against an address or CIDR
	// prefix.
	WhoIPAddr
)

// Rule is one line of an ACL file.
type Rule struct {
	// Permission is what the rule decides when it matches.
	Permission Permission
	// Who is the kind of client the rule is for.
	Who WhoKind
	// Name is the user name (WhoUser) or client id (WhoClientID).
	Name string
	// Prefix is the address or network of a WhoIPAddr rule (an address is
	// a full-length prefix).
	Prefix netip.Prefix
	// Action is the action (or both) the rule is for.
	Action Action
	// Filter is the topic filter, placeholders unexpanded.
	Filter string
	// Literal is set by "eq": Filter is compared byte for byte, without
	// wildcards or placeholders.
	Literal bool
	// Line is the rule's line in its file (1-based).
	Line int

	filter       []byte // Filter as bytes, for matching without conversion
	placeholders bool   // Filter holds %u or %c
}

// ParseACL reads an ACL file: one rule per line,
//
//	allow|deny  all | user NAME | clientid ID | ipaddr IP-or-CIDR  publish|subscribe|all  [eq ]FILTER
//
// fields separated by blanks; FILTER is the rest of the line. Blank lines
// and lines starting with '#' are ignored. Filters must be valid MQTT
// topic filters (placeholders are checked as written).
func ParseACL(r io.Reader) ([]Rule, error) {
	var rules []Rule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		rule, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %s", ErrACLFile, n, err.Error())
		}
		rule.Line = n
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrACLFile, err)
	}
	return rules, nil
}

// parseRule parses one non-empty rule line.
func parseRule(line string) (Rule, error) {
	var r Rule
	word, rest := cutWord(line)
	switch word {
	case "allow":
		r.Permission = Allow
	case "deny":
		r.Permission = Deny
	default:
		return r, fmt.Errorf("permission %q is neither allow nor deny", word)
	}
	word, rest = cutWord(rest)
	switch word {
	case "all":
		r.Who = WhoAll
	case "user", "clientid":
		r.Who = WhoUser
		if word == "clientid" {
			r.Who = WhoClientID
		}
		r.Name, rest = cutWord(rest)
		if r.Name == "" {
			return r, fmt.Errorf("%s without a name", word)
		}
	case "ipaddr":
		var s string
		s, rest = cutWord(rest)
		p, err := parsePrefix(s)
		if err != nil {
			return r, err
		}
		r.Who, r.Prefix = WhoIPAddr, p
	default:
		return r, fmt.Errorf("who %q is not all, user, clientid or ipaddr", word)
	}
	word, rest = cutWord(rest)
	switch word {
	case "publish":
		r.Action = Publish
	case "subscribe":
		r.Action = Subscribe
	case "all":
		r.Action = All
	default:
		return r, fmt.Errorf("action %q is not publish, subscribe or all", word)
	}
	if w, after := cutWord(rest); w == "eq" && after != "" {
		r.Literal, rest = true, after
	}
	if rest == "" {
		return r, fmt.Errorf("no topic filter")
	}
	if err := mqtt.ValidTopicFilter([]byte(rest)); err != nil {
		return r, fmt.Errorf("topic filter %q: %w", rest, err)
	}
	r.Filter = rest
	r.filter = []byte(rest)
	r.placeholders = !r.Literal && (strings.Contains(rest, "%u") || strings.Contains(rest, "%c"))
	return r, nil
}

// cutWord splits off s's first blank-separated word.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// parsePrefix parses an IP address or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("ipaddr %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ipaddr %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Client is who asks: the identity a rule's who and placeholders match.
type Client struct {
	// ClientID is the client id.
	ClientID string
	// Username is the user name; empty when the client sent none.
	Username string
	// IP is the client's address.
	IP netip.Addr
}

// matches reports whether r applies to client c doing act on topic (a
// topic name for Publish, a filter without any $share prefix for
// Subscribe). buf is scratch for placeholder expansion; the possibly grown
// buffer is returned.
func (r *Rule) matches(c *Client, act Action, topic, buf []byte) (bool, []byte) {
	if r.Action&act == 0 {
		return false, buf
	}
	switch r.Who {
	case WhoUser:
		if c.Username != r.Name {
			return false, buf
		}
	case WhoClientID:
		if c.ClientID != r.Name {
			return false, buf
		}
	case WhoIPAddr:
		if !c.IP.IsValid() || !r.Prefix.Contains(c.IP.Unmap()) {
			return false, buf
		}
	}
	if r.Literal {
		return bytes.Equal(r.filter, topic), buf
	}
	f := r.filter
	if r.placeholders {
		var ok bool
		if buf, ok = expand(buf[:0], r.filter, c); !ok {
			return false, buf
		}
		f = buf
	}
	if act == Publish {
		return mqtt.Match(f, topic), buf
	}
	return covers(f, topic), buf
}

// expand appends filter with %u and %c replaced by c's user name and
// client id. It fails (the rule does not match) when a needed value is
// empty or holds a character that would change the filter's shape: a
// wildcard, or a '/' that would add levels.
func expand(dst, filter []byte, c *Client) ([]byte, bool) {
	for i := 0; i < len(filter); i++ {
		if filter[i] == '%' && i+1 < len(filter) && (filter[i+1] == 'u' || filter[i+1] == 'c') {
			v := c.Username
			if filter[i+1] == 'c' {
				v = c.ClientID
			}
			if v == "" || strings.ContainsAny(v, "+#/") {
				return dst, false
			}
			dst = append(dst, v...)
			i++
			continue
		}
		dst = append(dst, filter[i])
	}
	return dst, true
}

// covers reports whether every topic the subscription filter sub matches
// is matched by the rule filter rule: level by level, '#' covers the rest
// (its parent included, as "a/#" matches "a"), '+' covers one level that
// is not '#', and a literal covers only itself. Like mqtt.Match, a rule
// starting with a wildcard does not cover a filter starting with '$'
// [MQTT-4.7.2-1].
func covers(rule, sub []byte) bool {
	if len(sub) > 0 && sub[0] == '$' && (bytes.HasPrefix(rule, []byte("+")) || bytes.HasPrefix(rule, []byte("#"))) {
		return false
	}
	for {
		rl, rrest, rmore := bytes.Cut(rule, []byte("/"))
		if len(rl) == 1 && rl[0] == '#' {
			return true
		}
		sl, srest, smore := bytes.Cut(sub, []byte("/"))
		if len(rl) == 1 && rl[0] == '+' {
			if len(sl) == 1 && sl[0] == '#' {
				return false
			}
		} else if !bytes.Equal(rl, sl) {
			return false
		}
		switch {
		case !rmore && !smore:
			return true
		case !smore:
			return len(rrest) == 1 && rrest[0] == '#'
		case !rmore:
			return false
		}
		rule, sub = rrest, srest
	}
}
