package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// writeConfig writes o as TOML that --config reads back to the same
// Options (--print-config): every scalar setting, then the zones and the
// listeners.
func writeConfig(w io.Writer, o *Options) error {
	var b strings.Builder
	b.WriteString("# shardmq effective configuration (shardmq --print-config)\n")
	for _, s := range settings {
		if v := s.format(o); v != "" {
			fmt.Fprintf(&b, "%s = %s\n", s.key, v)
		} else {
			fmt.Fprintf(&b, "# %s unset: true on loopback listeners only\n", s.key)
		}
	}
	if len(o.Zones) == 0 {
		fmt.Fprintf(&b, "\n# no [%s.NAME] tables: every client is in the zone \"default\"\n", zonesKey)
	}
	for _, n := range slices.Sorted(maps.Keys(o.Zones)) {
		fmt.Fprintf(&b, "\n[%s.%s]\n", zonesKey, tomlKey(n))
		z := o.Zones[n]
		for _, kv := range zoneValues(&z) {
			fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
		}
	}
	if len(o.Listeners) == 0 {
		fmt.Fprintf(&b, "\n# no [[%s]] tables: the one listener is mqtt_addr\n", listenersKey)
	}
	for _, l := range o.Listeners {
		fmt.Fprintf(&b, "\n[[%s]]\n", listenersKey)
		if l.Kind != "" {
			fmt.Fprintf(&b, "kind = %s\n", tomlQuote(l.Kind))
		}
		fmt.Fprintf(&b, "addr = %s\n", tomlQuote(l.Addr))
		for _, k := range listenerKeys {
			if v, set := k.get(&l); set {
				fmt.Fprintf(&b, "%s = %s\n", k.name, v)
			}
		}
	}
	for _, g := range o.Gateways {
		fmt.Fprintf(&b, "\n[[%s]]\nkind = %s\naddr = %s\n", gatewaysKey, tomlQuote(g.Kind), tomlQuote(g.Addr))
		for _, k := range gatewayKeys {
			if v, set := k.get(&g); set {
				fmt.Fprintf(&b, "%s = %s\n", k.name, v)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
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

// tomlKey returns k bare when TOML allows it (the characters of a
// listener name), quoted otherwise.
func tomlKey(k string) string {
	if validName(k) {
		return k
	}
	return tomlQuote(k)
}
