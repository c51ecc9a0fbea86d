package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
)

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

// newLogger returns the logger o's log_level and log_format describe,
// writing to w. o has been validated.
func newLogger(o *Options, w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(o.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if o.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h)
}
