package auth

import "errors"

// Errors of the auth package.
var (
	// ErrInvalidConfig reports a Config that failed Validate.
	ErrInvalidConfig = errors.New("auth: invalid config")
	// ErrBadCredentials reports a user name unknown to the password file or
	// a wrong password (CONNACK 0x04 on MQTT 3, 0x86 on MQTT 5).
	ErrBadCredentials = errors.New("auth: bad user name or password")
	// ErrNotAuthorized reports a client without credentials on a listener
	// that refuses anonymous clients (CONNACK 0x05 on MQTT 3, 0x87 on 5).
	ErrNotAuthorized = errors.New("auth: not authorized")
	// ErrPasswordFile reports a malformed password file line.
	ErrPasswordFile = errors.New("auth: malformed password file")
	// ErrACLFile reports a malformed ACL file line.
	ErrACLFile = errors.New("auth: malformed ACL file")
	// ErrUsername reports a user name that cannot be stored in a password
	// file (empty, or containing ':' or a line break).
	ErrUsername = errors.New("auth: invalid user name")
	// ErrEmptyPassword reports an empty password given to SetPassword.
	ErrEmptyPassword = errors.New("auth: empty password")
)
