package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// readBody reads the whole request body, at most maxBytes, and checks that
// its media type (when given) is JSON.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *apiError) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, &apiError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Content-Type must be application/json (curl -d sends application/x-www-form-urlencoded unless given -H 'Content-Type: application/json')"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBytes)}
		}
		return nil, badRequest("could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("empty request body")
	}
	// encoding/json would silently turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return nil, badRequest("invalid JSON body: not valid UTF-8")
	}
	return body, nil
}

// decodeJSON decodes body into dst (whose object types enforce their own
// field names, see strictObject) and turns decoding errors into a 400 whose
// message names the offending field without Go type names.
func decodeJSON(body []byte, dst any) *apiError {
	if err := json.Unmarshal(body, dst); err != nil {
		return badRequest(jsonErrorMessage(err))
	}
	return nil
}

// fieldError is a strict-decoding failure that names the field.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return fmt.Sprintf("field %q: %s", e.field, e.msg)
}

// jsonErrorMessage renders a decoding error for the caller.
func jsonErrorMessage(err error) string {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		fieldErr  *fieldError
	)
	switch {
	case errors.As(err, &fieldErr):
		return "invalid JSON body: " + fieldErr.Error()
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("invalid JSON body: wrong type: got %s", typeErr.Value)
		}
		return fmt.Sprintf("invalid JSON body: field %q: wrong type or out of range: got %s", typeErr.Field, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON body: malformed at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON body: unexpected end"
	}
	return "invalid JSON body"
}

// strictObject decodes the JSON object data into dst, a pointer to a struct
// whose exported fields all have json tags. Unlike encoding/json alone it
// rejects a null or non-object value, unknown fields, a field given twice,
// and field names that differ from a tag only in case; each field is
// decoded on its own so that an error names it, with a dotted path for
// nested objects.
func strictObject(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &fieldError{msg: "want a JSON object, got " + jsonKind(tok)}
	}
	v := reflect.ValueOf(dst).Elem()
	tags := jsonTags(v.Type())
	seen := make(map[string]bool, len(tags))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		i, ok := tags[k]
		if !ok {
			return &fieldError{field: k, msg: "unknown field"}
		}
		if seen[k] {
			return &fieldError{field: k, msg: "given twice"}
		}
		seen[k] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
			var (
				inner   *fieldError
				typeErr *json.UnmarshalTypeError
			)
			switch {
			case errors.As(err, &inner):
				path := k
				if inner.field != "" {
					path += "." + inner.field
				}
				return &fieldError{field: path, msg: inner.msg}
			case errors.As(err, &typeErr):
				path := k
				if typeErr.Field != "" {
					path += "." + typeErr.Field
				}
				return &fieldError{field: path, msg: "wrong type or out of range: got " + typeErr.Value}
			}
			return &fieldError{field: k, msg: "invalid value"}
		}
	}
	_, err = dec.Token() // the closing '}'
	return err
}

// jsonKind names the JSON kind of a token from json.Decoder.Token.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// tagCache maps a struct type to its json tag → field index map.
var tagCache sync.Map

func jsonTags(t reflect.Type) map[string]int {
	if m, ok := tagCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	tagCache.Store(t, m)
	return m
}
