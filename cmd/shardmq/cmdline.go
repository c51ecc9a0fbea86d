package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/shardmq/shardmq/shards"
)

// commandLine is what the command line says: the settings its flags set,
// as changes that loadOptions applies last, and what to do.
type commandLine struct {
	configFile  string
	printConfig bool
	version     bool
	changes     []change
	// err is the first bad flag value, reported as a *configError (the
	// flag package would say only "invalid value").
	err error
}

// errStrayArgument is a positional argument: the broker takes none, and
// the flag package would stop parsing there.
var errStrayArgument = errors.New("unexpected argument")

// parseCommandLine parses the broker's arguments (without the program
// name). It returns flag.ErrHelp for -h and --help.
func parseCommandLine(args []string) (commandLine, error) {
	var cl commandLine
	fs := newFlagSet(&cl)
	if err := fs.Parse(args); err != nil {
		if cl.err != nil {
			return cl, cl.err
		}
		return cl, err
	}
	if fs.NArg() > 0 {
		return cl, fmt.Errorf("%w %q: flags start with -, and the one subcommand, passwd, comes first", errStrayArgument, fs.Arg(0))
	}
	return cl, nil
}

// newFlagSet returns the broker's flags, recording into cl. Its output is
// discarded: the caller reports errors and prints the usage (writeUsage).
func newFlagSet(cl *commandLine) *flag.FlagSet {
	fs := flag.NewFlagSet("shardmq", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, s := range settings {
		fs.Var(&settingFlag{s: s, cl: cl}, s.flag(), s.usage)
	}
	fs.Var(&zoneFlag{cl: cl}, "zone", "")
	fs.Var(&listenerFlag{cl: cl}, "listener", "")
	fs.Var(&gatewayFlag{cl: cl}, "gateway", "")
	fs.StringVar(&cl.configFile, "config", "", "")
	fs.BoolVar(&cl.printConfig, "print-config", false, "")
	fs.BoolVar(&cl.version, "version", false, "")
	return fs
}

// fail records the first bad value of the command line.
func (cl *commandLine) fail(flagName string, err error) error {
	ce := from("flag --"+flagName, err)
	if cl.err == nil {
		cl.err = ce
	}
	return ce
}

// settingFlag is the flag of a scalar setting: Set parses the value at
// once and records the change.
type settingFlag struct {
	s  setting
	cl *commandLine
}

func (f *settingFlag) String() string { return "" }

func (f *settingFlag) Set(text string) error {
	apply, err := f.s.parse(text)
	if err != nil {
		return f.cl.fail(f.s.flag(), &keyError{f.s.key, err})
	}
	f.cl.changes = append(f.cl.changes, change{f.s.key, "flag --" + f.s.flag(), apply})
	return nil
}

// IsBoolFlag lets a boolean setting be given as --name alone.
func (f *settingFlag) IsBoolFlag() bool { return f.s.kind() == kindBool }

// zoneFlag is --zone, repeatable: the zones it collects replace the
// file's and the environment's.
type zoneFlag struct {
	cl    *commandLine
	zones map[string]shards.ZoneConfig
}

func (f *zoneFlag) String() string { return "" }

func (f *zoneFlag) Set(spec string) error {
	if f.zones == nil {
		f.zones = map[string]shards.ZoneConfig{}
		f.cl.changes = append(f.cl.changes, change{zonesKey, "flag --zone", func(o *Options) { o.Zones = f.zones }})
	}
	if err := addZoneSpec(f.zones, spec); err != nil {
		return f.cl.fail("zone", err)
	}
	return nil
}

// listenerFlag is --listener, repeatable: the listeners it collects
// replace the file's and the environment's, and mqtt_addr.
type listenerFlag struct {
	cl        *commandLine
	listeners []Listener
}

func (f *listenerFlag) String() string { return "" }

func (f *listenerFlag) Set(spec string) error {
	l, err := parseListener(spec)
	if err != nil {
		return f.cl.fail("listener", &keyError{listenersKey, err})
	}
	if f.listeners == nil {
		f.cl.changes = append(f.cl.changes, change{listenersKey, "flag --listener", func(o *Options) { o.Listeners = f.listeners }})
	}
	f.listeners = append(f.listeners, l)
	return nil
}

// writeUsage writes -h's text: the two commands and every flag.
func writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`Usage:
  shardmq [FLAGS]                       run the MQTT broker
  shardmq passwd [-cost N] [-role ROLE] FILE USER
                                        add USER to the password file FILE, or change their password;
                                        with -role (administrator, viewer), FILE is dashboard_users

Settings: each flag is also a key of the --config file (TOML, with "_" for "-") and a SHARDMQ_<KEY>
environment variable (SHARDMQ_MQTT_ADDR). Flags win over variables, variables over the file.

`)
	d := defaultOptions()
	for _, s := range settings {
		k := s.kind()
		fmt.Fprintf(&b, "  --%s\n    \t%s", strings.TrimSpace(s.flag()+" "+k.arg()), s.usage)
		if v := s.format(&d); v != "" && v != `""` && (k != kindBool || v != "false") {
			fmt.Fprintf(&b, " (default %s)", v)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, `  --zone NAME:KEY=VALUE,...
    	define a zone, repeatable (SHARDMQ_ZONES="a:k=v,k=v;b:k=v", [zones.NAME] tables); keys: %s
  --listener [KIND://]HOST:PORT[@ZONE][?KEY=VALUE&...]
    	an MQTT listener, repeatable, replacing mqtt_addr (SHARDMQ_LISTENERS="addr@zone,...",
    	[[listeners]] tables with kind, addr and the same keys); KIND is tcp (default), ssl, ws or wss;
    	keys: %s; its clients' rows say listener "KIND:NAME"
  --gateway KIND://HOST[:PORT][@ZONE][?KEY=VALUE&...]
    	a gateway for constrained devices on UDP, repeatable (SHARDMQ_GATEWAYS="spec spec",
    	[[gateway]] tables with kind, addr and the same keys); KIND is mqttsn (MQTT-SN 1.2, port 1884)
    	or coap (CoAP, EMQX's publish-subscribe model, port 5683);
    	keys: %s; its clients' rows say listener "udp:NAME"

Other flags:
  --config FILE
    	TOML configuration file (see shardmq.example.toml; or SHARDMQ_CONFIG)
  --print-config
    	print the effective configuration as TOML that --config reads, and exit
  --version
    	print the version and exit
  -h, --help
    	print this and exit
`, strings.Join(zoneKeys(), ", "), strings.Join(strings.Split(listenerKeyNames(), ", ")[2:], ", "), gatewayKeyNames())
	_, _ = io.WriteString(w, b.String())
}
