// Package userfile edits the broker's "name:..." user files (the MQTT
// password file, the dashboard's users file): one line per user, comments
// starting with '#' left as they are.
package userfile

import "strings"

// Set returns old with name's line replaced by entry, or entry appended
// when name has no line; added reports which. Every line of the result
// ends in a newline.
func Set(old []byte, name, entry string) (out []byte, added bool) {
	var b strings.Builder
	added = true
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if line == "" {
			continue
		}
		if u, _, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok && u == name &&
			!strings.HasPrefix(strings.TrimSpace(line), "#") {
			line, added = entry+"\n", false
		} else if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		b.WriteString(line)
	}
	if added {
		b.WriteString(entry + "\n")
	}
	return []byte(b.String()), added
}
