package netio

import (
	"log"

	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// quietLogger passes gnet's errors to the standard logger and drops the
// rest, so that a broker's output is not filled with engine chatter.
type quietLogger struct{}

var _ logging.Logger = quietLogger{}

func (quietLogger) Debugf(string, ...any)             {}
func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Warnf(string, ...any)              {}
func (quietLogger) Errorf(format string, args ...any) { log.Printf("gnet: "+format, args...) }
func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf("gnet: "+format, args...) }
