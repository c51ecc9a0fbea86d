package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/shardmq/shardmq/shards"
)

// The configuration has four sources, each overriding the one before:
// the defaults, the file (--config, or SHARDMQ_CONFIG), the environment
// (SHARDMQ_<KEY>) and the command line. Each source parses its own values
// into changes, so that a bad value is reported with the source it came
// from; mergeOptions applies them in that order and validates the result.
// A table (zones, listeners) is replaced as a whole by a higher source.

// change is one setting from one source.
type change struct {
	key    string // the setting's key: "node", zonesKey, listenersKey
	source string // "config FILE", "environment SHARDMQ_NODE", "flag --node"
	apply  func(*Options)
}

// configError is an invalid configuration: where the value came from, its
// key and why.
type configError struct {
	source, key string
	err         error
}

func (e *configError) Error() string { return fmt.Sprintf("%s: key %s: %v", e.source, e.key, e.err) }
func (e *configError) Unwrap() error { return e.err }

// from returns err, a *keyError, as the *configError of source.
func from(source string, err error) error {
	var ke *keyError
	if errors.As(err, &ke) {
		return &configError{source, ke.key, ke.err}
	}
	return fmt.Errorf("%s: %w", source, err)
}

// loadOptions reads the file and the environment that cl (the parsed
// command line) and lookupEnv (os.LookupEnv outside tests) name, and
// merges them with cl's settings.
func loadOptions(cl commandLine, lookupEnv func(string) (string, bool)) (Options, error) {
	path := cl.configFile
	if v, ok := lookupEnv("SHARDMQ_CONFIG"); ok && path == "" {
		path = v
	}
	var file []change
	if path != "" {
		var err error
		if file, err = readConfigFile(path); err != nil {
			return Options{}, err
		}
	}
	env, err := readEnvironment(lookupEnv)
	if err != nil {
		return Options{}, err
	}
	return mergeOptions(file, env, cl.changes)
}

// mergeOptions builds the Options: the defaults, then the file's settings,
// the environment's and the command line's, each replacing what the ones
// before set; then it validates the result, naming the source of a bad
// value.
func mergeOptions(file, env, flags []change) (Options, error) {
	o := defaultOptions()
	source := map[string]string{} // key → where its value came from
	for _, layer := range [][]change{file, env, flags} {
		for _, c := range layer {
			c.apply(&o)
			source[c.key] = c.source
		}
	}
	if err := o.Validate(); err != nil {
		var ke *keyError
		if !errors.As(err, &ke) {
			return Options{}, err
		}
		// "zones.edge.inflight_max" and "listeners[0].addr" come from the
		// source of their table.
		table := strings.FieldsFunc(ke.key, func(r rune) bool { return r == '.' || r == '[' })[0]
		src, ok := source[table]
		if !ok {
			src = "default"
		}
		return Options{}, &configError{src, ke.key, ke.err}
	}
	return o, nil
}

// readConfigFile reads the TOML file at path as changes.
func readConfigFile(path string) ([]change, error) {
	var file map[string]any
	if _, err := toml.DecodeFile(path, &file); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s: %s (line %d, key %s)", path, pe.Message, pe.Position.Line, pe.LastKey)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	src := "config " + path
	var out []change
	for _, k := range slices.Sorted(maps.Keys(file)) {
		v := file[k]
		switch k {
		case zonesKey:
			zones, err := fileZones(v)
			if err != nil {
				return nil, from(src, err)
			}
			out = append(out, change{k, src, func(o *Options) { o.Zones = zones }})
		case listenersKey:
			ls, err := fileListeners(v)
			if err != nil {
				return nil, from(src, err)
			}
			out = append(out, change{k, src, func(o *Options) { o.Listeners = ls }})
		case gatewaysKey:
			gs, err := fileGateways(v)
			if err != nil {
				return nil, from(src, err)
			}
			out = append(out, change{k, src, func(o *Options) { o.Gateways = gs }})
		default:
			s, ok := settingByKey(k)
			if !ok {
				return nil, &configError{src, k, errors.New("unknown setting")}
			}
			text, err := scalarText(s.kind(), v)
			if err != nil {
				return nil, &configError{src, k, err}
			}
			apply, err := s.parse(text)
			if err != nil {
				return nil, &configError{src, k, err}
			}
			out = append(out, change{k, src, apply})
		}
	}
	return out, nil
}

// readEnvironment reads the SHARDMQ_<KEY> variables as changes.
func readEnvironment(lookupEnv func(string) (string, bool)) ([]change, error) {
	var out []change
	for _, s := range settings {
		v, ok := lookupEnv(s.env())
		if !ok {
			continue
		}
		src := "environment " + s.env()
		apply, err := s.parse(v)
		if err != nil {
			return nil, &configError{src, s.key, err}
		}
		out = append(out, change{s.key, src, apply})
	}
	if v, ok := lookupEnv("SHARDMQ_ZONES"); ok {
		const src = "environment SHARDMQ_ZONES"
		zones := map[string]shards.ZoneConfig{}
		for spec := range strings.SplitSeq(v, ";") {
			if spec = strings.TrimSpace(spec); spec != "" {
				if err := addZoneSpec(zones, spec); err != nil {
					return nil, from(src, err)
				}
			}
		}
		out = append(out, change{zonesKey, src, func(o *Options) { o.Zones = zones }})
	}
	if v, ok := lookupEnv("SHARDMQ_LISTENERS"); ok {
		const src = "environment SHARDMQ_LISTENERS"
		var ls []Listener
		for _, spec := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			l, err := parseListener(spec)
			if err != nil {
				return nil, &configError{src, listenersKey, err}
			}
			ls = append(ls, l)
		}
		out = append(out, change{listenersKey, src, func(o *Options) { o.Listeners = ls }})
	}
	if v, ok := lookupEnv("SHARDMQ_GATEWAYS"); ok {
		const src = "environment SHARDMQ_GATEWAYS"
		var gs []Gateway
		for _, spec := range strings.Fields(v) {
			g, err := parseGateway(spec)
			if err != nil {
				return nil, &configError{src, gatewaysKey, err}
			}
			gs = append(gs, g)
		}
		out = append(out, change{gatewaysKey, src, func(o *Options) { o.Gateways = gs }})
	}
	return out, nil
}

// scalarText returns v, a decoded TOML value, as the text its setting
// parses, if v has the TOML type of kind k.
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

// tomlType names the TOML type of a decoded value.
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
