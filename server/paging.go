package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// pageToken is the opaque page_token: the sort key of the last item served
// and a hash of the filters, so a token is only valid for the same query.
type pageToken struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

// filterHash fingerprints a request's filters (everything but paging).
func filterHash(parts ...any) string {
	raw, _ := json.Marshal(parts)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// paginate sorts items by key and returns the page after the token. Lists
// are merged from many clouds, so the order must not depend on which cloud
// answered first: keys are (cloud, name, id).
func paginate[T any](items []T, key func(T) string, size int, token, filter string) ([]T, string, error) {
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		var pt pageToken
		if err == nil {
			err = json.Unmarshal(raw, &pt)
		}
		if err != nil {
			return nil, "", badRequest("page_token", "malformed token")
		}
		if pt.Filter != filter {
			return nil, "", badRequest("page_token", "token was issued for a request with other filters")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > pt.After })
	}
	end := start + size
	if end >= len(items) {
		return items[start:], "", nil
	}
	page := items[start:end]
	raw, _ := json.Marshal(pageToken{After: key(page[len(page)-1]), Filter: filter})
	return page, base64.RawURLEncoding.EncodeToString(raw), nil
}

// sortKey builds the merge order key.
func sortKey(cloud, name, id string) string {
	return fmt.Sprintf("%s\x00%s\x00%s", cloud, name, id)
}
