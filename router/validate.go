package router

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

const (
	maxNameLen   = 255
	maxLabels    = 64
	MaxUserData  = 64 << 10
	maxRequestID = 128
	defaultPage  = 100
	maxPage      = 1000
)

// looksLikeUUID matches strings that try to be a UUID (hex and dashes of
// about the right length); such a string that fails to parse is a malformed
// id rather than a name.
var looksLikeUUID = regexp.MustCompile(`^[0-9a-zA-Z]{8}-[0-9a-zA-Z-]{20,30}$`)

// IDOrName classifies a reference — the `id` of Get/Delete/action requests,
// the image or flavor of a create —: a canopy id, or a name to look up.
// Empty and malformed values are INVALID_ARGUMENT. A name is taken as the
// clouds have it ('/' included: Ubuntu's AMI names are
// "ubuntu/images/hvm-ssd/…"); only the names canopy gives new resources
// are held to CheckName.
func IDOrName(field, v string) (id string, isID bool, err error) {
	if v == "" {
		return "", false, BadRequest(field, "required: a canopy id or a name")
	}
	if u, perr := uuid.Parse(v); perr == nil && len(v) == 36 {
		return u.String(), true, nil
	}
	if looksLikeUUID.MatchString(v) {
		return "", false, BadRequest(field, "malformed id %q: want a UUID such as 123e4567-e89b-12d3-a456-426614174000", v)
	}
	if err := checkRef(field, v); err != nil {
		return "", false, err
	}
	return v, false, nil
}

// checkRef validates the name in a reference: 1–255 printable characters.
func checkRef(field, v string) error {
	if len(v) > maxNameLen {
		return BadRequest(field, "longer than %d bytes", maxNameLen)
	}
	if !utf8.ValidString(v) {
		return BadRequest(field, "%q is not UTF-8", v)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return BadRequest(field, "contains a non-printable character %q", r)
		}
	}
	return nil
}

// CheckName validates the name of a resource canopy creates: 1–255
// printable characters, no slash — so that the name is one path segment
// as it stands in a REST URL and in the object-style paths of clouds that
// build URLs from names (Swift containers, S3 buckets).
func CheckName(field, v string) error {
	if v == "" {
		return BadRequest(field, "required")
	}
	if len(v) > maxNameLen {
		return BadRequest(field, "longer than %d bytes", maxNameLen)
	}
	if strings.ContainsRune(v, '/') {
		return BadRequest(field, "must not contain '/'")
	}
	if !utf8.ValidString(v) { // ranging over it would see U+FFFD, printable
		return BadRequest(field, "%q is not UTF-8", v)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return BadRequest(field, "contains a non-printable character %q", r)
		}
	}
	return nil
}

var labelKey = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,62}$`)

// CheckLabels validates label keys and values (kept small so every cloud
// can store them as metadata or tags).
func CheckLabels(field string, labels map[string]string) error {
	if len(labels) > maxLabels {
		return BadRequest(field, "at most %d labels", maxLabels)
	}
	for k, v := range labels {
		if !labelKey.MatchString(k) {
			return BadRequest(field+"["+k+"]", "label keys are 1-63 lower-case letters, digits, '_', '.', '-', starting with a letter")
		}
		if len(v) > 255 {
			return BadRequest(field+"["+k+"]", "label values are at most 255 bytes")
		}
	}
	return nil
}

// CheckRequestID bounds an AIP-155 request_id.
func CheckRequestID(v string) error {
	if len(v) > maxRequestID {
		return BadRequest("request_id", "longer than %d bytes", maxRequestID)
	}
	return nil
}

// PageSize checks page_size and applies the default.
func PageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, BadRequest("page_size", "must not be negative, got %d", n)
	case n > maxPage:
		return 0, BadRequest("page_size", "at most %d, got %d", maxPage, n)
	case n == 0:
		return defaultPage, nil
	}
	return int(n), nil
}
