package store

import "errors"

// The errors of a Store. An implementation wraps them with what it knows
// (the file, the free space), so test them with errors.Is.
var (
	// ErrDiskFull reports a Commit refused because the filesystem of the
	// store is (nearly) full; nothing of the Batch was written. The shards
	// answer QoS 1 and 2 publishes to persistent sessions with 0x97 (Quota
	// exceeded) while it lasts.
	ErrDiskFull = errors.New("store: disk full")
	// ErrClosed reports a Commit or Load after Close.
	ErrClosed = errors.New("store: closed")
	// ErrLocked reports a store directory that another process (or another
	// Open in this one) holds.
	ErrLocked = errors.New("store: locked by another process")
	// ErrVersion reports a store written in a format this build does not
	// read.
	ErrVersion = errors.New("store: unsupported format version")
	// ErrCorrupt reports a store whose files or records cannot be read
	// back as written.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("store: invalid configuration")
)

// ErrInvalidOp reports an Op whose Kind is unknown or that lacks a field
// its Kind needs; nothing of its Batch was written.
var ErrInvalidOp = errors.New("store: invalid op")
