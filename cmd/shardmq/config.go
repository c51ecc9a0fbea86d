package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
)

// The configuration is the set of flags: a file (--config, TOML) and the
// environment (SHARDMQ_<KEY>) set the flags the command line left alone, so
// the precedence is flags > environment > file > defaults, and every
// setting is parsed and checked by one code path whatever its source.

// configFlags are the flags about the configuration itself.
var configFlags struct {
	file  string
	print bool
}

func init() {
	flag.StringVar(&configFlags.file, "config", "", "TOML configuration file (see shardmq.example.toml; or SHARDMQ_CONFIG); flags and SHARDMQ_* variables override it")
	flag.BoolVar(&configFlags.print, "print-config", false, "print the effective configuration as TOML and exit")
}

// kind is the TOML type of a setting.
type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindDuration
	// kindTriBool is a bool that may stay unset (allow_anonymous).
	kindTriBool
	// kindBytes is a size: an integer (bytes) or a string with a unit ("64MiB").
	kindBytes
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "a boolean", `a duration string such as "10s"`, "a boolean",
		`a size such as "64MiB" or a number of bytes`}[k]
}

// setting is one scalar setting: its TOML key is its flag's name with "_"
// for "-", its variable SHARDMQ_ and the key in upper case.
type setting struct {
	flag string
	kind kind
}

func (s setting) key() string { return strings.ReplaceAll(s.flag, "-", "_") }
func (s setting) env() string { return "SHARDMQ_" + strings.ToUpper(s.key()) }

// settings are the scalar settings in the order --print-config writes them.
// The compound ones, zones and listeners, follow them.
var settings = []setting{
	{"node", kindString},
	{"data-dir", kindString},
	{"mqtt-addr", kindString},
	{"api-addr", kindString},
	{"api-base", kindString},
	{"api-keys", kindString},
	{"metrics-auth", kindBool},
	{"stats-interval", kindDuration},
	{"shutdown-timeout", kindDuration},
	{"log-level", kindString},
	{"log-format", kindString},
	{"password-file", kindString},
	{"acl-file", kindString},
	{"acl-nomatch", kindString},
	{"allow-anonymous", kindTriBool},
	{"sys-interval", kindDuration},
	{"shared-subscription-strategy", kindString},
	{"response-information", kindString},
	{"gc-percent", kindInt},
	{"memory-limit", kindBytes},
	{"memory-release", kindBool},
	{"memory-release-growth", kindBytes},
	{"memory-release-quiet", kindDuration},
	{"memory-release-min-interval", kindDuration},
}

// Compound settings: repeatable flags, TOML tables in the file.
const (
	zonesKey     = "zones"     // [zones.NAME] key = value; flag --zone, SHARDMQ_ZONES
	listenersKey = "listeners" // [[listeners]] addr, zone; flag --listener, SHARDMQ_LISTENERS
)

// notSettings are flags that are not part of the configuration.
var notSettings = []string{"config", "print-config", "pprof-addr"}

// configError is an invalid setting: where it came from, its key and why.
type configError struct {
	source, key string
	err         error
}

func (e *configError) Error() string {
	return fmt.Sprintf("%s: key %s: %v", e.source, e.key, e.err)
}

func (e *configError) Unwrap() error { return e.err }

// loadConfig applies the file named by --config and the environment to the
// flags of fs that the command line did not set, then checks the result.
// lookupEnv is os.LookupEnv outside tests.
func loadConfig(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) error {
	setByFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setByFlag[f.Name] = true })
	source := map[string]string{} // key → where its value came from
	for _, s := range settings {
		if setByFlag[s.flag] {
			source[s.key()] = "flag --" + s.flag
		}
	}
	if setByFlag["zone"] {
		source[zonesKey] = "flag --zone"
	}
	if setByFlag["listener"] {
		source[listenersKey] = "flag --listener"
	}

	if v, ok := lookupEnv("SHARDMQ_CONFIG"); ok && !setByFlag["config"] {
		configFlags.file = v
	}
	var file map[string]any
	if path := configFlags.file; path != "" {
		md, err := toml.DecodeFile(path, &file)
		if err != nil {
			var pe toml.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("config %s: %s", path, pe.Message+" (line "+strconv.Itoa(pe.Position.Line)+", key "+pe.LastKey+")")
			}
			return fmt.Errorf("config %s: %w", path, err)
		}
		_ = md
		if err := checkKeys(path, file); err != nil {
			return err
		}
	}
	src := "config " + configFlags.file
	for _, s := range settings {
		k := s.key()
		if _, ok := source[k]; ok {
			continue
		}
		if v, ok := lookupEnv(s.env()); ok {
			if err := fs.Set(s.flag, v); err != nil {
				return &configError{"environment " + s.env(), k, valueErr(s.kind, v, err)}
			}
			source[k] = "environment " + s.env()
			continue
		}
		v, ok := file[k]
		if !ok {
			continue
		}
		text, err := scalarText(s.kind, v)
		if err != nil {
			return &configError{src, k, err}
		}
		if err := fs.Set(s.flag, text); err != nil {
			return &configError{src, k, valueErr(s.kind, text, err)}
		}
		source[k] = src
	}
	if _, ok := source[zonesKey]; !ok {
		if v, ok := lookupEnv("SHARDMQ_ZONES"); ok {
			for spec := range strings.SplitSeq(v, ";") {
				if spec = strings.TrimSpace(spec); spec != "" {
					if err := fs.Set("zone", spec); err != nil {
						return &configError{"environment SHARDMQ_ZONES", zonesKey, err}
					}
				}
			}
			source[zonesKey] = "environment SHARDMQ_ZONES"
		} else if v, ok := file[zonesKey]; ok {
			if err := fileZones(fs, v); err != nil {
				return &configError{src, zonesKey + err.key, err.err}
			}
			source[zonesKey] = src
		}
	}
	if _, ok := source[listenersKey]; !ok {
		if v, ok := lookupEnv("SHARDMQ_LISTENERS"); ok {
			for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				if err := fs.Set("listener", l); err != nil {
					return &configError{"environment SHARDMQ_LISTENERS", listenersKey, err}
				}
			}
			source[listenersKey] = "environment SHARDMQ_LISTENERS"
		} else if v, ok := file[listenersKey]; ok {
			if err := fileListeners(fs, v); err != nil {
				return &configError{src, listenersKey + err.key, err.err}
			}
			source[listenersKey] = src
		}
	}
	return checkConfig(fs, source)
}

// valueErr explains why text is not a value of kind k (the flag package
// says only "parse error").
func valueErr(k kind, text string, err error) error {
	if k == kindTriBool {
		return err
	}
	return fmt.Errorf("%q is not %s", text, k)
}

// cleanFlagErr drops the flag package's "invalid value ... for flag" wrapper
// when there is one: the key is named by the caller.
func cleanFlagErr(err error) error {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "invalid ") {
		return errors.New(after)
	}
	return err
}

// checkKeys rejects keys that are no setting: a typo must not pass
// silently.
func checkKeys(path string, file map[string]any) error {
	var keys []string
	for k := range file {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == zonesKey || k == listenersKey || slices.ContainsFunc(settings, func(s setting) bool { return s.key() == k }) {
			continue
		}
		return &configError{"config " + path, k, errors.New("unknown setting")}
	}
	return nil
}

// scalarText returns v, a decoded TOML value, as the text its flag parses.
func scalarText(k kind, v any) (string, error) {
	switch x := v.(type) {
	case string:
		if k == kindString || k == kindDuration || k == kindBytes {
			return x, nil
		}
	case int64:
		if k == kindInt || k == kindBytes {
			return strconv.FormatInt(x, 10), nil
		}
	case bool:
		if k == kindBool || k == kindTriBool {
			return strconv.FormatBool(x), nil
		}
	}
	return "", fmt.Errorf("want %s, not %s", k, tomlType(v))
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// keyError is an error about a sub-key of a compound setting.
type keyError struct {
	key string // ".name.key" or "[i].addr"
	err error
}

// fileZones sets --zone from [zones.NAME] tables.
func fileZones(fs *flag.FlagSet, v any) *keyError {
	m, ok := v.(map[string]any)
	if !ok {
		return &keyError{"", fmt.Errorf("want tables [zones.NAME], not %s", tomlType(v))}
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		zm, ok := m[name].(map[string]any)
		if !ok {
			return &keyError{"." + name, fmt.Errorf("want a table, not %s", tomlType(m[name]))}
		}
		keys := make([]string, 0, len(zm))
		for k := range zm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			// An empty zone is legal: it names the defaults.
			if err := fs.Set("zone", name+":"); err != nil {
				return &keyError{"." + name, err}
			}
		}
		for _, k := range keys {
			var text string
			switch x := zm[k].(type) {
			case int64:
				text = strconv.FormatInt(x, 10)
			case float64:
				text = strconv.FormatFloat(x, 'g', -1, 64)
			case string:
				text = x
			default:
				return &keyError{"." + name + "." + k, fmt.Errorf("want a number or a duration string, not %s", tomlType(x))}
			}
			if err := fs.Set("zone", name+":"+k+"="+text); err != nil {
				return &keyError{"." + name + "." + k, cleanZoneErr(err)}
			}
		}
	}
	return nil
}

// cleanZoneErr keeps the reason of a --zone error, without the flag
// package's wrapper and the "zone NAME: key:" prefixes the key already
// says.
func cleanZoneErr(err error) error {
	msg := cleanFlagErr(err).Error()
	if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "zone ") {
		msg = after
	}
	return errors.New(msg)
}

// fileListeners sets --listener from [[listeners]] tables.
func fileListeners(fs *flag.FlagSet, v any) *keyError {
	list, ok := v.([]map[string]any)
	if !ok {
		return &keyError{"", fmt.Errorf("want an array of tables [[listeners]], not %s", tomlType(v))}
	}
	for i, l := range list {
		at := "[" + strconv.Itoa(i) + "]"
		var addr, zone string
		for k, x := range l {
			s, ok := x.(string)
			if !ok {
				return &keyError{at + "." + k, fmt.Errorf("want a string, not %s", tomlType(x))}
			}
			switch k {
			case "addr":
				addr = s
			case "zone":
				zone = s
			default:
				return &keyError{at + "." + k, errors.New("unknown setting (want addr, zone)")}
			}
		}
		if addr == "" {
			return &keyError{at + ".addr", errors.New("missing")}
		}
		spec := addr
		if zone != "" {
			spec += "@" + zone
		}
		if err := fs.Set("listener", spec); err != nil {
			return &keyError{at, cleanFlagErr(err)}
		}
	}
	return nil
}

// checkConfig checks the values the flags parsed but did not judge.
func checkConfig(fs *flag.FlagSet, source map[string]string) error {
	from := func(key string) string {
		if s, ok := source[key]; ok {
			return s
		}
		return "default"
	}
	val := func(name string) string { return fs.Lookup(name).Value.String() }
	for _, name := range []string{"mqtt-addr", "api-addr"} {
		if _, _, err := net.SplitHostPort(val(name)); err != nil {
			k := strings.ReplaceAll(name, "-", "_")
			return &configError{from(k), k, err}
		}
	}
	for _, l := range security.listeners.list {
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return &configError{from(listenersKey), listenersKey, err}
		}
	}
	if _, err := auth.ParsePermission(val("acl-nomatch")); err != nil {
		return &configError{from("acl_nomatch"), "acl_nomatch", errors.New("want allow or deny")}
	}
	if err := (httpapi.Config{Base: val("api-base")}).Validate(); err != nil {
		return &configError{from("api_base"), "api_base", errors.New("must start with / and not end with /, without : * ? # %")}
	}
	for _, name := range []string{"stats-interval", "shutdown-timeout"} {
		d := fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration)
		if d <= 0 {
			k := strings.ReplaceAll(name, "-", "_")
			return &configError{from(k), k, fmt.Errorf("%v: want a positive duration", d)}
		}
	}
	if d := fs.Lookup("sys-interval").Value.(flag.Getter).Get().(time.Duration); d < 0 {
		return &configError{from("sys_interval"), "sys_interval", fmt.Errorf("%v: want 0 (off) or a positive duration", d)}
	}
	if _, err := shards.ParseShareStrategy(val("shared-subscription-strategy")); err != nil {
		return &configError{from("shared_subscription_strategy"), "shared_subscription_strategy",
			errors.New("want round_robin, random, hash_clientid or sticky")}
	}
	if val("node") == "" {
		return &configError{from("node"), "node", errors.New("must not be empty")}
	}
	if err := checkLogging(); err != nil {
		err.source = from(err.key)
		return err
	}
	if err := checkMemory(); err != nil {
		err.source = from(err.key)
		return err
	}
	names := make([]string, 0, len(security.zones.m))
	for n := range security.zones.m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		z := security.zones.m[n]
		// Each setting alone first, so that the error names it.
		for _, kv := range zoneValues(&z) {
			var one shards.ZoneConfig
			v, _ := strconv.Unquote(kv[1])
			if v == "" {
				v = kv[1]
			}
			if err := setZoneKey(&one, kv[0], v); err != nil || one.Validate() != nil {
				return &configError{from(zonesKey), zonesKey + "." + n + "." + kv[0], fmt.Errorf("%s is out of range", kv[1])}
			}
		}
		if err := z.Validate(); err != nil {
			return &configError{from(zonesKey), zonesKey + "." + n, err}
		}
	}
	c := shards.Config{Zones: security.zones.m, Listeners: security.listeners.list}
	if err := c.Validate(); err != nil {
		return &configError{from(listenersKey), listenersKey, err}
	}
	return nil
}

// writeConfig writes the effective configuration of fs as TOML that
// --config reads back.
func writeConfig(w io.Writer, fs *flag.FlagSet) error {
	var b strings.Builder
	b.WriteString("# shardmq effective configuration (shardmq --print-config)\n")
	for _, s := range settings {
		v := fs.Lookup(s.flag).Value.String()
		switch s.kind {
		case kindString, kindDuration, kindBytes:
			fmt.Fprintf(&b, "%s = %s\n", s.key(), tomlQuote(v))
		case kindTriBool:
			if v == "" {
				fmt.Fprintf(&b, "# %s unset: true on loopback listeners only\n", s.key())
			} else {
				fmt.Fprintf(&b, "%s = %s\n", s.key(), v)
			}
		default:
			fmt.Fprintf(&b, "%s = %s\n", s.key(), v)
		}
	}
	names := make([]string, 0, len(security.zones.m))
	for n := range security.zones.m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n[%s.%s]\n", zonesKey, tomlKey(n))
		z := security.zones.m[n]
		for _, kv := range zoneValues(&z) {
			fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
		}
	}
	for _, l := range security.listeners.list {
		fmt.Fprintf(&b, "\n[[%s]]\naddr = %s\n", listenersKey, tomlQuote(l.Addr))
		if l.Zone != "" {
			fmt.Fprintf(&b, "zone = %s\n", tomlQuote(l.Zone))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// zoneValues returns z's non-zero settings as TOML key and value text.
func zoneValues(z *shards.ZoneConfig) [][2]string {
	var out [][2]string
	num := func(k string, v int) {
		if v != 0 {
			out = append(out, [2]string{k, strconv.Itoa(v)})
		}
	}
	dur := func(k string, v time.Duration) {
		if v != 0 {
			out = append(out, [2]string{k, tomlQuote(v.String())})
		}
	}
	num("inflight_max", z.InflightMax)
	num("mqueue_max", z.MqueueMax)
	num("subscriptions_max", z.SubscriptionsMax)
	num("awaiting_rel_max", z.AwaitingRelMax)
	num("max_packet_size", z.MaxPacketSize)
	num("topic_alias_max", z.TopicAliasMaximum)
	dur("server_keepalive", z.ServerKeepalive)
	dur("session_expiry", z.SessionExpiry)
	dur("max_session_expiry", z.MaxSessionExpiry)
	dur("await_rel_timeout", z.AwaitPubrelTimeout)
	if z.KeepaliveFactor != 0 {
		out = append(out, [2]string{"keepalive_multiplier", strconv.FormatFloat(z.KeepaliveFactor, 'f', -1, 64)})
	}
	return out
}

// tomlQuote returns s as a TOML basic string.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey returns k bare when TOML allows it, quoted otherwise.
func tomlKey(k string) string {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return tomlQuote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// configMain applies the configuration after flag.Parse; it returns the
// process's exit code and whether to exit now (--print-config, or an
// invalid configuration: exit code 2).
func configMain(stdout, stderr io.Writer) (code int, exit bool) {
	if err := loadConfig(flag.CommandLine, os.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "shardmq:", err)
		return 2, true
	}
	if configFlags.print {
		if err := writeConfig(stdout, flag.CommandLine); err != nil {
			fmt.Fprintln(stderr, "shardmq:", err)
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
