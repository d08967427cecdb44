package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/torii-idp/torii/connector/static"
)

// maxPasswordInput bounds what is read from a pipe.
const maxPasswordInput = 4096

// hashPasswordCommand prints a bcrypt hash of a password read without echo
// from the terminal (asked twice), or from stdin when it is not a terminal
// (one trailing newline removed).
func hashPasswordCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost (%d..%d)", static.MinCost, static.MaxCost))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: torii hash-password [--cost N] (the password is read from the terminal or stdin)")
		return 2
	}
	if *cost < static.MinCost || *cost > static.MaxCost {
		fmt.Fprintf(stderr, "torii: --cost must be between %d and %d (the range Dex and torii accept at login)\n", static.MinCost, static.MaxCost)
		return 2
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "torii:", err)
		return 1
	}
	hash, err := bcrypt.GenerateFromPassword(password, *cost)
	if err != nil {
		fmt.Fprintln(stderr, "torii:", err)
		return 1
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}

func readPassword(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprint(stderr, "Password: ")
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, errors.New("the password is empty")
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passwords differ")
		}
		return p, nil
	}
	p, err := io.ReadAll(io.LimitReader(stdin, maxPasswordInput+1))
	if err != nil {
		return nil, err
	}
	if len(p) > maxPasswordInput {
		return nil, errors.New("the input is too long for a password")
	}
	p = bytes.TrimSuffix(p, []byte("\n"))
	p = bytes.TrimSuffix(p, []byte("\r"))
	if len(p) == 0 {
		return nil, errors.New("the password is empty")
	}
	return p, nil
}
