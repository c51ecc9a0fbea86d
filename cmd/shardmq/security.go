package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
)

// securityFlags are the flags of authentication, authorization, zones and
// listeners.
type securityFlags struct {
	passwordFile   string
	aclFile        string
	aclNoMatch     string
	allowAnonymous triState
	zones          zoneFlags
	listeners      listenerFlags
}

// security holds the parsed flags; tests set it directly.
var security = securityFlags{aclNoMatch: "deny"}

func init() {
	flag.StringVar(&security.passwordFile, "password-file", "", "password file of username:bcrypt lines (add users with `shardmq passwd FILE USER`); reloaded on SIGHUP")
	flag.StringVar(&security.aclFile, "acl-file", "", "ACL rules file (allow|deny who action [eq] filter); reloaded on SIGHUP")
	flag.StringVar(&security.aclNoMatch, "acl-nomatch", "deny", "decision when no ACL rule matches: allow or deny")
	flag.Var(&security.allowAnonymous, "allow-anonymous", "accept clients that do not authenticate: true or false (default: true only on loopback listeners)")
	flag.Var(&security.zones, "zone", "define a zone: name:key=value,... (keys: "+strings.Join(zoneKeys, ", ")+"); repeatable")
	flag.Var(&security.listeners, "listener", "MQTT listener addr[@zone]; repeatable; replaces --mqtt-addr when given")
	extensions = append(extensions, extension{configure: configureSecurity, start: startReloader})
}

// configureSecurity puts the listeners, zones and Auth into a.cfg.
func configureSecurity(a *app) error {
	f := &security
	noMatch, err := auth.ParsePermission(f.aclNoMatch)
	if err != nil {
		return err
	}
	az, err := auth.New(auth.Config{PasswordFile: f.passwordFile, ACLFile: f.aclFile, NoMatch: noMatch})
	if err != nil {
		return err
	}
	a.cfg.Auth = az
	a.cfg.Zones = f.zones.m
	ls := f.listeners.list
	if len(ls) == 0 {
		ls = []shards.ListenerConfig{{Addr: a.opts.mqttAddr}}
	}
	for i := range ls {
		ls[i].AllowAnonymous = f.allowAnonymous.ptr()
	}
	a.cfg.Listeners = ls
	return a.cfg.Validate()
}

// startReloader reloads the password and ACL files on SIGHUP until the
// returned stop function runs.
func startReloader(_ context.Context, a *app) (func(context.Context) error, error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-hup:
				reloadAuth(a)
			case <-done:
				return
			}
		}
	}()
	return func(context.Context) error {
		signal.Stop(hup)
		close(done)
		<-exited
		return nil
	}, nil
}

// reloadAuth is what SIGHUP does: the password and ACL files are read again;
// connected clients stay connected and later decisions use the new files.
// A file that fails to parse leaves the old ones in force.
func reloadAuth(a *app) {
	if err := a.cfg.Auth.Reload(); err != nil {
		slog.Error("shardmq: reload failed, keeping the previous files", "err", err)
		return
	}
	slog.Info("shardmq: reloaded password and ACL files")
}

// triState is a boolean flag that can stay unset. It takes a value
// ("--allow-anonymous false" or "--allow-anonymous=false"); it is not a
// bool flag, so the spaced form cannot be misread as "true" plus an
// argument.
type triState struct {
	set, value bool
}

func (t *triState) String() string {
	if t == nil || !t.set {
		return ""
	}
	return strconv.FormatBool(t.value)
}

func (t *triState) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	t.set, t.value = true, v
	return nil
}

func (t *triState) ptr() *bool {
	if !t.set {
		return nil
	}
	v := t.value
	return &v
}

// listenerFlags collects --listener addr[@zone].
type listenerFlags struct {
	list []shards.ListenerConfig
}

func (l *listenerFlags) String() string {
	if l == nil {
		return ""
	}
	var s []string
	for _, lc := range l.list {
		s = append(s, lc.Addr+"@"+lc.Zone)
	}
	return strings.Join(s, " ")
}

func (l *listenerFlags) Set(s string) error {
	addr, zone := s, ""
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		addr, zone = s[:i], s[i+1:]
	}
	if addr == "" {
		return fmt.Errorf("listener %q: no address", s)
	}
	l.list = append(l.list, shards.ListenerConfig{Addr: addr, Zone: zone})
	return nil
}

// zoneFlags collects --zone name:key=value,...
type zoneFlags struct {
	m map[string]shards.ZoneConfig
}

// zoneKeys are the settings a --zone flag may set (EMQX's names).
var zoneKeys = []string{"inflight_max", "mqueue_max", "subscriptions_max", "awaiting_rel_max",
	"max_packet_size", "topic_alias_max", "server_keepalive", "session_expiry", "max_session_expiry",
	"await_rel_timeout", "keepalive_multiplier"}

func (z *zoneFlags) String() string {
	if z == nil {
		return ""
	}
	var names []string
	for n := range z.m {
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

func (z *zoneFlags) Set(s string) error {
	name, spec, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return fmt.Errorf("zone %q: want name:key=value[,key=value]", s)
	}
	if z.m == nil {
		z.m = make(map[string]shards.ZoneConfig)
	}
	zc := z.m[name]
	for kv := range strings.SplitSeq(spec, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("zone %s: %q is not key=value", name, kv)
		}
		if err := setZoneKey(&zc, k, v); err != nil {
			return fmt.Errorf("zone %s: %w", name, err)
		}
	}
	z.m[name] = zc
	return nil
}

// setZoneKey sets one setting of zc from its flag text. Durations take Go
// syntax ("30s", "2h") or plain seconds.
func setZoneKey(zc *shards.ZoneConfig, k, v string) error {
	num := func(dst *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		*dst = n
		return nil
	}
	dur := func(dst *time.Duration) error {
		if n, err := strconv.Atoi(v); err == nil {
			*dst = time.Duration(n) * time.Second
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		*dst = d
		return nil
	}
	switch k {
	case "inflight_max":
		return num(&zc.InflightMax)
	case "mqueue_max":
		return num(&zc.MqueueMax)
	case "subscriptions_max":
		return num(&zc.SubscriptionsMax)
	case "awaiting_rel_max":
		return num(&zc.AwaitingRelMax)
	case "max_packet_size":
		return num(&zc.MaxPacketSize)
	case "topic_alias_max":
		return num(&zc.TopicAliasMaximum)
	case "server_keepalive":
		return dur(&zc.ServerKeepalive)
	case "session_expiry":
		return dur(&zc.SessionExpiry)
	case "max_session_expiry":
		return dur(&zc.MaxSessionExpiry)
	case "await_rel_timeout":
		return dur(&zc.AwaitPubrelTimeout)
	case "keepalive_multiplier":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		zc.KeepaliveFactor = f
		return nil
	}
	return fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(zoneKeys, ", "))
}
