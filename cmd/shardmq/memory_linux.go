//go:build linux && cgo

package main

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static int shardmq_malloc_trim(void) { return malloc_trim(0); }
// One malloc arena unless MALLOC_ARENA_MAX says otherwise; set before
// main, so before any thread has an arena of its own (mallopt from Go,
// once the runtime runs, left measurably more resident).
__attribute__((constructor)) static void shardmq_arenas(void) {
	if (getenv("MALLOC_ARENA_MAX") == NULL) mallopt(M_ARENA_MAX, 1);
}
#else
static int shardmq_malloc_trim(void) { return -1; }
#endif
*/
import "C"

// The C part above also caps glibc's malloc arenas at one, before main
// runs, unless MALLOC_ARENA_MAX is set (glibc reads it; 0 or unset there
// means its default of 8 per core). SQLite runs on the catalog's writer
// and on every reader's thread, and glibc gives threads arenas of their
// own, each keeping the memory freed in it: with one arena a
// 10,000-connection storm left ~50 B less RSS per idle connection
// (docs/operations.md, "Memory"), and the catalog's 1M-row snapshot
// benchmark did not slow down.

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
// (SQLite's heap behind the catalog). It holds each arena's lock while it
// trims: C allocations wait.
func mallocTrim() error {
	if C.shardmq_malloc_trim() == -1 {
		return errNoMallocTrim
	}
	return nil
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
