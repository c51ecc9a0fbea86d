package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardmq/shardmq/shards/auth"
)

// newAuth reads the password and ACL files o names.
func newAuth(o *Options) (*auth.Auth, error) {
	noMatch, err := auth.ParsePermission(o.ACLNoMatch)
	if err != nil {
		return nil, err
	}
	return auth.New(auth.Config{PasswordFile: o.PasswordFile, ACLFile: o.ACLFile, NoMatch: noMatch})
}

// startReloader reloads az's files on SIGHUP until the returned stop
// function runs.
func startReloader(az *auth.Auth) func(context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-hup:
				reloadAuth(az)
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
	}
}

// reloadAuth is what SIGHUP does: the password and ACL files are read again;
// connected clients stay connected and later decisions use the new files.
// A file that fails to parse leaves the old ones in force.
func reloadAuth(az *auth.Auth) {
	if err := az.Reload(); err != nil {
		slog.Error("shardmq: reload failed, keeping the previous files", "err", err)
		return
	}
	slog.Info("shardmq: reloaded password and ACL files")
}
