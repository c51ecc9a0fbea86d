// Package banned is the broker's ban list: clients refused at CONNECT by
// client id, user name or address, exactly or by rule, as EMQX 5 bans
// them.
//
// An entry bans one of six kinds of who:
//
//	clientid      an exact client id
//	username      an exact user name
//	peerhost      an exact client address (IPv4 or IPv6)
//	clientid_re   client ids a regular expression matches (Go RE2 syntax, unanchored)
//	username_re   user names a regular expression matches
//	peerhost_net  client addresses inside a CIDR network
//
// with who set it (by), why (reason), when (at) and until when (until; an
// entry without one bans for ever). An entry past its until bans no one
// and is dropped at the next change of the list.
//
// A List is read without locks: Banned looks up the exact kinds in maps,
// the networks by prefix length and the expressions after a literal
// prefilter (most expressions name a literal a match must contain), so a
// check costs a few hundred nanoseconds with 10,000 exact entries, 100
// expressions and 100 networks (BenchmarkBanned). Changes copy the list
// and swap it in whole; with Persist they are written to a file first
// (written beside, synced, renamed), so a ban survives a restart.
package banned
