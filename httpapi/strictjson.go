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
	"strconv"
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
			return nil, &apiError{http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the request body is larger than %d bytes", maxBytes)}
		}
		return nil, badRequest("could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("the request body is empty; this endpoint takes JSON")
	}
	// encoding/json would silently turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return nil, badRequest("the request body is not valid UTF-8")
	}
	return body, nil
}

// decodeJSON decodes body into dst (whose object types enforce their own
// field names, see strictObject) and turns decoding errors into a 400 whose
// message names the offending field without Go type names.
func decodeJSON(body []byte, dst any) *apiError {
	if err := json.Unmarshal(body, dst); err != nil {
		return badRequest(jsonErrorMessage(err, -1))
	}
	return nil
}

// decodeItems decodes body as one JSON object (bulk false) or as an array of
// 1..MaxBulk objects, and converts each with conv. A failure in an array
// names the item's index. Everything is checked before anything is
// returned, so a bulk command is applied all or nothing.
func decodeItems[B, T any](a *API, body []byte, bulk bool, conv func(*B) (T, error)) ([]T, *apiError) {
	if !bulk {
		var item B
		if e := decodeJSON(body, &item); e != nil {
			return nil, e
		}
		v, err := conv(&item)
		if err != nil {
			return nil, badRequest(err.Error())
		}
		return []T{v}, nil
	}
	var raws []json.RawMessage
	if e := decodeJSON(body, &raws); e != nil {
		return nil, e
	}
	if e := a.checkBulk(len(raws)); e != nil {
		return nil, e
	}
	out := make([]T, len(raws))
	for i, raw := range raws {
		var item B
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, badRequest(jsonErrorMessage(err, i))
		}
		var err error
		if out[i], err = conv(&item); err != nil {
			return nil, badRequest(fmt.Sprintf("[%d]: %v", i, err))
		}
	}
	return out, nil
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

// jsonErrorMessage renders a decoding error for the caller: of the whole
// body when item is negative, else of the array item with that index.
func jsonErrorMessage(err error, item int) string {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		fieldErr  *fieldError
	)
	where := "request body: "
	if item >= 0 {
		where = fmt.Sprintf("[%d]: ", item)
	}
	switch {
	case errors.As(err, &fieldErr):
		if fieldErr.field == "" {
			return where + fieldErr.msg
		}
		if item < 0 {
			return fieldErr.Error()
		}
		return where + fieldErr.Error()
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("%swant %s, got %s", where, wantKind(typeErr.Type), typeErr.Value)
		}
		if item < 0 {
			where = ""
		}
		return fmt.Sprintf("%sfield %q: want %s, got %s", where, typeErr.Field, wantKind(typeErr.Type), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON body: malformed at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON body: it ends too early"
	}
	return "invalid JSON body"
}

// wantKind names the JSON value a Go type decodes from, for an error
// message ("an integer", "an array").
func wantKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
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
			return &fieldError{msg: "unknown field " + strconv.Quote(k)}
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
				return &fieldError{field: path, msg: "want " + wantKind(typeErr.Type) + ", got " + typeErr.Value}
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
