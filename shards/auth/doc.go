// Package auth authenticates MQTT clients against a password file and
// authorizes their PUBLISH and SUBSCRIBE requests against an ACL file.
//
// The password file holds one "username:hash" line per user, the hash being
// bcrypt (golang.org/x/crypto/bcrypt); SetPassword adds or changes a user
// and rewrites the file atomically with mode 0600. The ACL file holds
// ordered rules, one per line:
//
//	# permission who             action    [eq] filter
//	allow        user alice      publish   sensors/%u/#
//	allow        clientid dev-1  subscribe devices/%c/#
//	deny         ipaddr 10.0.0.0/8 all     eq #
//	allow        all             subscribe public/#
//
// The first rule whose who, action and filter match decides; when none
// matches, Config.NoMatch does. In a filter, %u stands for the client's
// user name and %c for its client id; a filter after "eq" is compared
// literally (no wildcards, no placeholders).
//
// An Auth holds the parsed files behind an atomic pointer: readers never
// lock, and Reload swaps in a fresh copy (clearing every client's decision
// Cache) without disturbing connected clients.
package auth
