package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/shardmq/shardmq/shards"
)

// Listener is one MQTT listener. On the command line and in
// SHARDMQ_LISTENERS it is written
//
//	[tcp://]HOST:PORT[@ZONE][?name=NAME]
//
// and in the file as a [[listeners]] table with the keys addr, zone and
// name. The kind is tcp, the only one so far (TLS and WebSocket listeners
// will be other kinds).
type Listener struct {
	// Addr is HOST:PORT.
	Addr string
	// Zone is the zone of the listener's clients. If empty, the zone
	// "default" is used.
	Zone string
	// Name names the listener on client rows ("tcp:NAME"): letters,
	// digits, _ and -. If empty, "default" is used for the first listener
	// and its position (1, 2, ...) for the others.
	Name string
}

// listenerKind is the one kind of listener there is.
const listenerKind = "tcp"

// parseListener reads a listener written [tcp://]HOST:PORT[@ZONE][?name=NAME].
func parseListener(spec string) (Listener, error) {
	var l Listener
	rest := spec
	if kind, after, ok := strings.Cut(rest, "://"); ok {
		if kind != listenerKind {
			return l, fmt.Errorf("listener %q: kind %q is not supported (only tcp:// so far)", spec, kind)
		}
		rest = after
	}
	if before, query, ok := strings.Cut(rest, "?"); ok {
		rest = before
		q, err := url.ParseQuery(query)
		if err != nil {
			return l, fmt.Errorf("listener %q: %w", spec, err)
		}
		for k, v := range q {
			if k != "name" || len(v) != 1 {
				return l, fmt.Errorf("listener %q: want ?name=NAME, the one option so far", spec)
			}
			l.Name = v[0]
		}
		if l.Name == "" {
			return l, fmt.Errorf("listener %q: empty name", spec)
		}
	}
	l.Addr = rest
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		l.Addr, l.Zone = rest[:i], rest[i+1:]
	}
	if l.Addr == "" {
		return l, fmt.Errorf("listener %q: no address", spec)
	}
	return l, nil
}

// mqttListeners returns the listeners the broker opens, with their names
// and zones: Listeners, or one on MQTTAddr.
func (o *Options) mqttListeners() []Listener {
	ls := o.Listeners
	if len(ls) == 0 {
		ls = []Listener{{Addr: o.MQTTAddr}}
	}
	out := make([]Listener, len(ls))
	for i, l := range ls {
		if l.Name == "" {
			l.Name = "default"
			if i > 0 {
				l.Name = strconv.Itoa(i)
			}
		}
		if l.Zone == "" {
			l.Zone = shards.DefaultZone
		}
		out[i] = l
	}
	return out
}

// rowName is the listener's name on client rows.
func (l Listener) rowName() string { return listenerKind + ":" + l.Name }

// validName reports whether s is a listener name: letters, digits, _ and
// -, as EMQX's listener names.
func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return s != ""
}

// fileListeners reads the file's [[listeners]] tables.
func fileListeners(v any) ([]Listener, error) {
	list, ok := v.([]map[string]any)
	if !ok {
		return nil, &keyError{listenersKey, fmt.Errorf("want an array of tables [[listeners]], not %s", tomlType(v))}
	}
	out := make([]Listener, 0, len(list))
	for i, t := range list {
		at := listenersKey + "[" + strconv.Itoa(i) + "]"
		var l Listener
		for k, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, &keyError{at + "." + k, fmt.Errorf("want a string, not %s", tomlType(x))}
			}
			switch k {
			case "addr":
				l.Addr = s
			case "zone":
				l.Zone = s
			case "name":
				l.Name = s
			default:
				return nil, &keyError{at + "." + k, errors.New("unknown setting (want addr, zone, name)")}
			}
		}
		if l.Addr == "" {
			return nil, &keyError{at + ".addr", errors.New("missing")}
		}
		out = append(out, l)
	}
	return out, nil
}
