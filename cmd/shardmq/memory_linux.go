//go:build linux && cgo

package main

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static int shardmq_malloc_trim(void) { return malloc_trim(0); }
#else
static int shardmq_malloc_trim(void) { return -1; }
#endif
*/
import "C"

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// errNoMallocTrim is malloc_trim's absence: the C library is not glibc
// (musl returns freed memory by itself).
var errNoMallocTrim = errors.New("shardmq: malloc_trim needs glibc")

// mallocTrim returns the free memory of every malloc arena to the OS
// (SQLite's heap behind the catalog) and reports whether any was returned.
// It holds each arena's lock while it trims: C allocations wait.
func mallocTrim() (bool, error) {
	switch C.shardmq_malloc_trim() {
	case -1:
		return false, errNoMallocTrim
	case 0:
		return false, nil
	}
	return true, nil
}

// residentBytes returns the process's resident set size, or 0 when
// /proc cannot be read.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
