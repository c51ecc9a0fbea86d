package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/store"
)

// Zones are named groups of session settings (EMQX's names), written
// NAME:KEY=VALUE,... on the command line (--zone, repeatable; the same
// zone may be given again to add keys), NAME:KEY=VALUE,...;NAME2:... in
// SHARDMQ_ZONES, and as [zones.NAME] tables in the file.

// zoneSetting is one setting of a zone.
type zoneSetting struct {
	key string
	// field returns the setting's field of z: an *int, *time.Duration
	// (written in Go syntax, "30s", or as whole seconds), *float64 or
	// *store.Durability.
	field func(z *shards.ZoneConfig) any
}

// zoneSettings are the settings of a zone (EMQX's names), in the order
// --print-config writes them.
var zoneSettings = []zoneSetting{
	{"inflight_max", func(z *shards.ZoneConfig) any { return &z.InflightMax }},
	{"mqueue_max", func(z *shards.ZoneConfig) any { return &z.MqueueMax }},
	{"subscriptions_max", func(z *shards.ZoneConfig) any { return &z.SubscriptionsMax }},
	{"awaiting_rel_max", func(z *shards.ZoneConfig) any { return &z.AwaitingRelMax }},
	{"max_packet_size", func(z *shards.ZoneConfig) any { return &z.MaxPacketSize }},
	{"topic_alias_max", func(z *shards.ZoneConfig) any { return &z.TopicAliasMaximum }},
	{"server_keepalive", func(z *shards.ZoneConfig) any { return &z.ServerKeepalive }},
	{"max_keepalive", func(z *shards.ZoneConfig) any { return &z.MaxKeepalive }},
	{"session_expiry", func(z *shards.ZoneConfig) any { return &z.SessionExpiry }},
	{"max_session_expiry", func(z *shards.ZoneConfig) any { return &z.MaxSessionExpiry }},
	{"await_rel_timeout", func(z *shards.ZoneConfig) any { return &z.AwaitPubrelTimeout }},
	{"keepalive_multiplier", func(z *shards.ZoneConfig) any { return &z.KeepaliveFactor }},
	{"durability", func(z *shards.ZoneConfig) any { return &z.Durability }},
	{"flush_interval", func(z *shards.ZoneConfig) any { return &z.FlushInterval }},
}

// zoneKeys returns the keys of zoneSettings.
func zoneKeys() []string {
	keys := make([]string, len(zoneSettings))
	for i, zs := range zoneSettings {
		keys[i] = zs.key
	}
	return keys
}

// addZoneSpec adds the zone written NAME:KEY=VALUE,... to zones.
func addZoneSpec(zones map[string]shards.ZoneConfig, spec string) error {
	name, kvs, ok := strings.Cut(spec, ":")
	if !ok || name == "" {
		return &keyError{zonesKey, fmt.Errorf("zone %q: want NAME:KEY=VALUE[,KEY=VALUE]", spec)}
	}
	if _, ok := zones[name]; !ok {
		zones[name] = shards.ZoneConfig{} // a zone without settings names the defaults
	}
	for kv := range strings.SplitSeq(kvs, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return &keyError{zonesKey + "." + name, fmt.Errorf("%q is not KEY=VALUE", kv)}
		}
		if err := setZone(zones, name, k, v); err != nil {
			return err
		}
	}
	return nil
}

// setZone sets key k of zone name in zones from its text v, checking the
// value's range on its own so that the error names the key.
func setZone(zones map[string]shards.ZoneConfig, name, k, v string) error {
	z := zones[name]
	var one shards.ZoneConfig
	if err := setZoneKey(&z, k, v); err != nil {
		return &keyError{zonesKey + "." + name + "." + k, err}
	}
	_ = setZoneKey(&one, k, v) // the text just parsed
	if one.Validate() != nil {
		return &keyError{zonesKey + "." + name + "." + k, fmt.Errorf("%s is out of range", v)}
	}
	zones[name] = z
	return nil
}

// setZoneKey sets setting k of zc from its text v.
func setZoneKey(zc *shards.ZoneConfig, k, v string) error {
	i := slices.IndexFunc(zoneSettings, func(zs zoneSetting) bool { return zs.key == k })
	if i < 0 {
		return fmt.Errorf("unknown key (known: %s)", strings.Join(zoneKeys(), ", "))
	}
	switch p := zoneSettings[i].field(zc).(type) {
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*p = n
	case *time.Duration:
		if n, err := strconv.Atoi(v); err == nil {
			*p = time.Duration(n) * time.Second
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as \"30s\" or a number of seconds", v)
		}
		*p = d
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		*p = f
	case *store.Durability:
		if err := checkDurability(v, "-"); err != nil || v == "" {
			return fmt.Errorf("%q: want memory, batch or sync", v)
		}
		*p = store.Durability(v)
	}
	return nil
}

// fileZones reads the file's [zones.NAME] tables.
func fileZones(v any) (map[string]shards.ZoneConfig, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &keyError{zonesKey, fmt.Errorf("want tables [zones.NAME], not %s", tomlType(v))}
	}
	zones := make(map[string]shards.ZoneConfig, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		t, ok := m[name].(map[string]any)
		if !ok {
			return nil, &keyError{zonesKey + "." + name, fmt.Errorf("want a table, not %s", tomlType(m[name]))}
		}
		zones[name] = shards.ZoneConfig{}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			var text string
			switch x := t[k].(type) {
			case int64:
				text = strconv.FormatInt(x, 10)
			case float64:
				text = strconv.FormatFloat(x, 'g', -1, 64)
			case string:
				text = x
			default:
				return nil, &keyError{zonesKey + "." + name + "." + k, errors.New("want a number or a duration string, not " + tomlType(x))}
			}
			if err := setZone(zones, name, k, text); err != nil {
				return nil, err
			}
		}
	}
	return zones, nil
}

// zoneValues returns z's non-zero settings as TOML keys and values.
func zoneValues(z *shards.ZoneConfig) [][2]string {
	var out [][2]string
	for _, zs := range zoneSettings {
		var v string
		switch p := zs.field(z).(type) {
		case *int:
			if *p != 0 {
				v = strconv.Itoa(*p)
			}
		case *time.Duration:
			if *p != 0 {
				v = tomlQuote(p.String())
			}
		case *float64:
			if *p != 0 {
				v = strconv.FormatFloat(*p, 'f', -1, 64)
			}
		case *store.Durability:
			if *p != "" {
				v = tomlQuote(string(*p))
			}
		}
		if v != "" {
			out = append(out, [2]string{zs.key, v})
		}
	}
	return out
}
