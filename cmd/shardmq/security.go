package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardmq/shardmq/netio"
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

// startReloader reloads az's files and srv's certificates on SIGHUP until
// the returned stop function runs.
func startReloader(az *auth.Auth, srv *netio.Server) func(context.Context) error {
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
				reloadTLS(srv)
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

// reloadTLS is what SIGHUP does to the ssl and wss listeners: their
// certificate files are read again; connected clients keep their
// sessions, new handshakes use the new certificates. A listener whose
// files fail to load keeps the ones it had.
func reloadTLS(srv *netio.Server) {
	if srv == nil {
		return
	}
	if err := srv.ReloadTLS(); err != nil {
		slog.Error("shardmq: TLS reload failed, keeping the previous certificates", "err", err)
		return
	}
	slog.Info("shardmq: reloaded TLS certificates")
}
