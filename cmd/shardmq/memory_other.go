//go:build !linux || !cgo

package main

import "errors"

// errNoMallocTrim is malloc_trim's absence outside linux with cgo.
var errNoMallocTrim = errors.New("shardmq: malloc_trim needs linux, cgo and glibc")

// mallocTrim reports that there is no malloc_trim here.
func mallocTrim() error { return errNoMallocTrim }

// residentBytes returns 0: the resident set size is read from /proc.
func residentBytes() int64 { return 0 }
