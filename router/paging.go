package router

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"unicode/utf8"
)

// pageToken is the opaque page_token: the sort key of the last item served
// and a hash of the filters, so a token is only valid for the same query.
//
// An After that is not UTF-8 (a cloud's token or name may be bytes) is
// carried in AfterBytes instead: JSON would replace its bad bytes, and the
// next page would start somewhere else.
type pageToken struct {
	After      string `json:"a"`
	AfterBytes []byte `json:"b,omitempty"`
	Filter     string `json:"f"`
}

// encodeToken makes the page_token continuing after after.
func encodeToken(after, filter string) string {
	pt := pageToken{After: after, Filter: filter}
	if !utf8.ValidString(after) {
		pt.After, pt.AfterBytes = "", []byte(after)
	}
	raw, _ := json.Marshal(pt)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeToken reads a page_token encodeToken made.
func decodeToken(token, filter string) (after string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(raw, &pt)
	}
	if pt.AfterBytes != nil {
		if pt.After != "" || utf8.Valid(pt.AfterBytes) {
			err = errMalformed
		}
		pt.After = string(pt.AfterBytes)
	}
	if err != nil {
		return "", BadRequest("page_token", "malformed token")
	}
	if pt.Filter != filter {
		return "", BadRequest("page_token", "token was issued for a request with other filters")
	}
	return pt.After, nil
}

var errMalformed = errors.New("malformed")

// FilterHash fingerprints a request's filters (everything but paging).
func FilterHash(parts ...any) string {
	raw, _ := json.Marshal(parts)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// Paginate sorts items by key and returns the page after the token. Lists
// are merged from many clouds, so the order must not depend on which cloud
// answered first: keys are (cloud, name, id).
func Paginate[T any](items []T, key func(T) string, size int, token, filter string) ([]T, string, error) {
	// One cloud's memoised list arrives already in order (see
	// server.cloudServers) and is shared by concurrent readers: InOrder
	// checks instead of sorting, and sorts a copy when it must.
	items, keys := InOrder(items, key)
	start := 0
	if token != "" {
		after, err := decodeToken(token, filter)
		if err != nil {
			return nil, "", err
		}
		start = sort.SearchStrings(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := start + size
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], encodeToken(keys[end-1], filter), nil
}

// WrapToken makes a cloud's own page token (an S3 continuation token, a
// Swift marker, the sim's) a canopy page_token bound to the request's
// filters; "" stays "" (no more pages).
func WrapToken(native, filter string) string {
	if native == "" {
		return ""
	}
	return encodeToken(native, filter)
}

// UnwrapToken is the cloud's token inside a page_token WrapToken made:
// anything else is INVALID_ARGUMENT before a cloud sees it — a Swift
// marker or the sim's start key would take any string as a place to
// start listing from.
func UnwrapToken(token, filter string) (string, error) {
	if token == "" {
		return "", nil
	}
	native, err := decodeToken(token, filter)
	if err == nil && native == "" {
		return "", BadRequest("page_token", "malformed token")
	}
	return native, err
}

// InOrder returns items ordered by key (stable), with their keys. Items
// already in order come back as they are, never written: a memoised list
// is shared by every reader of the cache. Otherwise the result is a sorted
// copy. Keys are computed once per item, not per comparison.
func InOrder[T any](items []T, key func(T) string) ([]T, []string) {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	if sort.IsSorted(byKey[T]{items, keys}) {
		return items, keys
	}
	b := byKey[T]{append([]T(nil), items...), keys}
	sort.Stable(b)
	return b.items, b.keys
}

// byKey sorts items by their precomputed keys.
type byKey[T any] struct {
	items []T
	keys  []string
}

func (b byKey[T]) Len() int           { return len(b.items) }
func (b byKey[T]) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey[T]) Swap(i, j int) {
	b.items[i], b.items[j] = b.items[j], b.items[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// SortKey builds the merge order key.
func SortKey(cloud, name, id string) string {
	return cloud + "\x00" + name + "\x00" + id
}
