package router_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/router"
)

// TestPaginate: pages of a merged list follow the sort key whatever order
// the clouds answered in, and a token is only good for the query it was
// issued for.
func TestPaginate(t *testing.T) {
	items := func() []string { // as clouds might answer: out of order
		return []string{router.SortKey("b", "x", "2"), router.SortKey("a", "y", "1"), router.SortKey("b", "a", "3"),
			router.SortKey("a", "a", "4"), router.SortKey("c", "", "5")}
	}
	id := func(s string) string { return s }
	filter := router.FilterHash("volumes", "", map[string]string{"env": "dev"})
	for _, size := range []int{1, 2, 3, 5, 10} {
		var got []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("size %d: no end after 10 pages", size)
			}
			page, next, err := router.Paginate(items(), id, size, token, filter)
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if len(page) > size {
				t.Fatalf("size %d: page of %d", size, len(page))
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			token = next
		}
		want := []string{router.SortKey("a", "a", "4"), router.SortKey("a", "y", "1"), router.SortKey("b", "a", "3"),
			router.SortKey("b", "x", "2"), router.SortKey("c", "", "5")}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("size %d: pages give %q, want %q", size, got, want)
		}
	}

	// An item gone between two pages does not shift the next one.
	page, next, _ := router.Paginate(items(), id, 2, "", filter)
	rest := items()[:0]
	for _, it := range items() {
		if it != page[1] {
			rest = append(rest, it)
		}
	}
	if page2, _, err := router.Paginate(rest, id, 2, next, filter); err != nil || page2[0] != router.SortKey("b", "a", "3") {
		t.Errorf("after the page's last item went: %q, %v; want it to go on at b/a/3", page2, err)
	}

	for _, tc := range []struct {
		name, token, filter, msg string
	}{
		{"another query's token", next, router.FilterHash("volumes", "other"), "other filters"},
		{"not base64", "!!!", filter, "malformed"},
		{"not json", "bm90IGpzb24", filter, "malformed"},
	} {
		_, _, err := router.Paginate(items(), id, 2, tc.token, tc.filter)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), "page_token: ") || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: err = %v; want INVALID_ARGUMENT on page_token, %q", tc.name, err, tc.msg)
		}
	}
	if router.FilterHash("a", 1) == router.FilterHash("a", 2) || router.FilterHash("a", 1) != router.FilterHash("a", 1) {
		t.Error("FilterHash does not tell filters apart, or is not stable")
	}
}

// A memoised list is shared by every reader of the cache: ordering it for
// a page or a watch must never write to it.
func TestInOrderNeverWritesItsInput(t *testing.T) {
	id := func(s string) string { return s }
	sorted := []string{"a", "b", "c"}
	got, keys := router.InOrder(sorted, id)
	if &got[0] != &sorted[0] || !slices.Equal(keys, sorted) {
		t.Errorf("an ordered list came back as a copy or with keys %v", keys)
	}
	unsorted := []string{"c", "a", "b", "a"}
	got, keys = router.InOrder(unsorted, id)
	if !slices.Equal(got, []string{"a", "a", "b", "c"}) || !slices.Equal(keys, got) {
		t.Errorf("InOrder = %v, %v", got, keys)
	}
	if !slices.Equal(unsorted, []string{"c", "a", "b", "a"}) {
		t.Errorf("the input was reordered in place: %v", unsorted)
	}
	// Concurrent readers of one shared list (run under -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			router.InOrder(unsorted, id)
			router.Paginate(unsorted, id, 2, "", "f")
		}()
	}
	wg.Wait()
}
