package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
)

// logFlags are the flags of the broker's log.
var logFlags struct {
	level  string
	format string
}

func init() {
	flag.StringVar(&logFlags.level, "log-level", "info", "log level: debug, info, warn or error (nothing is logged per message at info)")
	flag.StringVar(&logFlags.format, "log-format", "text", "log format: text (logfmt) or json")
}

// parseLevel returns the slog level named s.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		err := l.UnmarshalText([]byte(s))
		return l, err
	}
	return 0, errors.New(`want debug, info, warn or error`)
}

// checkLogging checks the log settings.
func checkLogging() *configError {
	if _, err := parseLevel(logFlags.level); err != nil {
		return &configError{key: "log_level", err: err}
	}
	switch logFlags.format {
	case "text", "json":
		return nil
	}
	return &configError{key: "log_format", err: errors.New("want text or json")}
}

// newLogger returns the logger the settings describe, writing to w. It
// becomes slog's default, which the standard log package (gnet's errors)
// writes through too.
func newLogger(w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(logFlags.level) // checked by loadConfig
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if logFlags.format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h)
}
