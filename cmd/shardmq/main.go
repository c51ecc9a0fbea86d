// Command shardmq runs the shardmq MQTT broker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

func main() {
	os.Exit(shardmq(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// shardmq runs the command line args and returns the exit code: 0, 1 when
// the broker failed (to start, or to stop within shutdown_timeout), 2 for
// a bad command line or configuration.
func shardmq(args []string, stdin *os.File, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) > 0 && args[0] == "passwd" {
		return passwdMain(args[1:], stdin, stdout, stderr)
	}
	cl, err := parseCommandLine(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		writeUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "shardmq: %v (shardmq -h lists the flags)\n", err)
		return 2
	case cl.version:
		fmt.Fprintf(stdout, "shardmq %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	o, err := loadOptions(cl, lookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, "shardmq:", err)
		return 2
	}
	if cl.printConfig {
		if err := writeConfig(stdout, &o); err != nil {
			fmt.Fprintln(stderr, "shardmq:", err)
			return 1
		}
		return 0
	}

	// The default logger: the standard log package (gnet's errors) writes
	// through it too.
	slog.SetDefault(newLogger(&o, stderr))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := start(o)
	if err != nil {
		slog.Error("shardmq: failed to start", "err", err)
		return 1
	}
	<-ctx.Done()
	slog.Info("shardmq: stopping", "deadline", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := a.stop(sctx); err != nil {
		slog.Error("shardmq: stopped", "err", err)
		return 1
	}
	slog.Info("shardmq: stopped")
	return 0
}

// version is the broker's version: the module version the Go toolchain
// stamped into the binary, with the VCS revision when it recorded one;
// "dev" for a build with neither.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" && v == "dev" {
		v += "-" + rev + dirty
	}
	return v
}
