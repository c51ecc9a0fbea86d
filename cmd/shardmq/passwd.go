package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/shardmq/shardmq/httpapi/dashboard"
	"github.com/shardmq/shardmq/shards/auth"
	"golang.org/x/sys/unix"
)

// passwdMain runs `shardmq passwd [-cost N] [-role ROLE] FILE USER`: it adds
// USER to the password file FILE, or changes USER's password. With -role,
// FILE is the dashboard's users file (username:role:bcrypt lines) and USER
// gets ROLE (administrator or viewer). On a terminal it
// prompts twice with echo off; otherwise it reads one line from in. It
// returns the process exit code.
func passwdMain(args []string, in *os.File, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("shardmq passwd", flag.ContinueOnError)
	fs.SetOutput(errOut)
	cost := fs.Int("cost", auth.DefaultCost, "bcrypt cost (4 to 31)")
	roleName := fs.String("role", "", "administrator or viewer: FILE is the dashboard's users file (dashboard_users), not the MQTT password file")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: shardmq passwd [-cost N] [-role ROLE] FILE USER")
		fmt.Fprintln(errOut, "Adds USER to FILE or changes USER's password (bcrypt). The password is")
		fmt.Fprintln(errOut, "prompted for twice on a terminal, else read as one line from stdin.")
		fmt.Fprintln(errOut, "Without -role FILE is the MQTT password file (password_file); with it, the")
		fmt.Fprintln(errOut, "dashboard's users file (dashboard_users), and USER gets ROLE.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	file, user := fs.Arg(0), fs.Arg(1)
	if *roleName != "" {
		return dashboardUserMain(file, user, *roleName, *cost, in, out, errOut)
	}
	if err := auth.ValidUsername(user); err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	pw, err := readPassword(in, errOut)
	if err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	added, err := auth.SetPassword(file, user, pw, *cost)
	if err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	verb := "changed the password of"
	if added {
		verb = "added"
	}
	fmt.Fprintf(out, "shardmq passwd: %s user %s in %s\n", verb, user, file)
	return 0
}

// errMismatch reports two different passwords typed at the prompts.
var errMismatch = errors.New("passwords do not match")

// readPassword reads the password: twice with echo off when in is a
// terminal (prompts on errOut), else one line.
func readPassword(in *os.File, errOut io.Writer) ([]byte, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil { // not a terminal
		line, err := bufio.NewReader(in).ReadBytes('\n')
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			return nil, fmt.Errorf("reading the password from stdin: %w", err)
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	r := bufio.NewReader(in)
	prompt := func(p string) ([]byte, error) {
		fmt.Fprint(errOut, p)
		line, err := r.ReadBytes('\n')
		fmt.Fprintln(errOut)
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
	first, err := prompt("Password: ")
	if err != nil {
		return nil, err
	}
	second, err := prompt("Reenter password: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(first, second) {
		return nil, errMismatch
	}
	return first, nil
}

// dashboardUserMain adds USER with role to the dashboard's users file, or
// changes their password and role.
func dashboardUserMain(file, user, roleName string, cost int, in *os.File, out, errOut io.Writer) int {
	role, err := dashboard.ParseRole(roleName)
	if err == nil {
		err = dashboard.ValidUsername(user)
	}
	if err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	pw, err := readPassword(in, errOut)
	if err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	added, err := dashboard.SetUser(file, user, role, pw, cost)
	if err != nil {
		fmt.Fprintln(errOut, "shardmq passwd:", err)
		return 1
	}
	verb := "changed the password and role of"
	if added {
		verb = "added"
	}
	fmt.Fprintf(out, "shardmq passwd: %s dashboard user %s (%s) in %s\n", verb, user, role, file)
	return 0
}
