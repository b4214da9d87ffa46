package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// APIError is an OpenStack API error response, classified: errors.Is finds
// the providers sentinel that matches it.
type APIError struct {
	Code    int    // HTTP status
	Method  string // request method
	URL     string // request URL
	Message string // the service's message (Nova's fault, Neutron's, Glance's)
	Kind    error  // a providers.Err* sentinel
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("%v: %s (HTTP %d from %s %s)", e.Kind, msg, e.Code, e.Method, e.URL)
}

// Unwrap returns the sentinel.
func (e *APIError) Unwrap() error { return e.Kind }

var quotaRE = regexp.MustCompile(`(?i)quota exceeded|over ?quota|exceeded quota|quota.*exceed|maximum number of .* exceeded`)

// classify maps an HTTP status and message to the providers sentinel.
func classify(code int, msg string) error {
	quota := quotaRE.MatchString(msg)
	switch {
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		if quota {
			return providers.ErrQuota
		}
		return providers.ErrInvalid
	case code == http.StatusUnauthorized:
		return providers.ErrUnauthenticated
	case code == http.StatusForbidden:
		// Nova answers 403 for quota ("Quota exceeded for cores: ...").
		if quota {
			return providers.ErrQuota
		}
		return providers.ErrPermission
	case code == http.StatusNotFound:
		return providers.ErrNotFound
	case code == http.StatusConflict:
		if strings.Contains(strings.ToLower(msg), "already exists") {
			return providers.ErrAlreadyExists
		}
		if quota {
			return providers.ErrQuota
		}
		return providers.ErrConflict
	case code == http.StatusRequestEntityTooLarge || code == http.StatusTooManyRequests:
		// 413 is Nova's historical over-limit answer for both quota and
		// rate limits; the message tells them apart.
		if quota {
			return providers.ErrQuota
		}
		return providers.ErrRateLimited
	case code == http.StatusNotImplemented:
		return providers.ErrUnsupported
	case code >= 500:
		return providers.ErrUnavailable
	case code == http.StatusMethodNotAllowed || code == http.StatusNotAcceptable:
		return providers.ErrUnsupported
	case code >= 400:
		return providers.ErrInvalid
	}
	return providers.ErrUnavailable
}

// mapErr turns a gophercloud or transport error into one that wraps a
// providers sentinel (and providers.RetryAfterError when the cloud said
// when to retry). Context errors pass through unchanged.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var reauth *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) {
		return fmt.Errorf("%w: re-authentication failed: %v", providers.ErrUnauthenticated, reauth.ErrReauth)
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	var uep *gophercloud.ErrUnexpectedResponseCode
	switch {
	case errors.As(err, &ue):
	case errors.As(err, &uep):
		ue = *uep
	default:
		var nf gophercloud.ErrEndpointNotFound
		var nfp *gophercloud.ErrEndpointNotFound
		if errors.As(err, &nf) || errors.As(err, &nfp) {
			return fmt.Errorf("%w: %v", providers.ErrUnavailable, err)
		}
		var urlErr *url.Error
		var netErr net.Error
		if errors.As(err, &urlErr) || errors.As(err, &netErr) {
			return fmt.Errorf("%w: %v", providers.ErrUnavailable, err)
		}
		if _, isSentinel := sentinelOf(err); isSentinel {
			return err
		}
		return fmt.Errorf("%w: %v", providers.ErrUnavailable, err)
	}
	msg := faultMessage(ue.Body)
	apiErr := &APIError{Code: ue.Actual, Method: ue.Method, URL: ue.URL, Message: msg, Kind: classify(ue.Actual, msg)}
	if after, ok := retryAfter(ue.ResponseHeader, time.Now()); ok {
		switch apiErr.Kind {
		case providers.ErrRateLimited, providers.ErrQuota, providers.ErrUnavailable:
			return &providers.RetryAfterError{After: after, Err: apiErr}
		}
	}
	return apiErr
}

func sentinelOf(err error) (error, bool) {
	for _, s := range []error{providers.ErrNotFound, providers.ErrAlreadyExists, providers.ErrInvalid, providers.ErrConflict,
		providers.ErrUnavailable, providers.ErrUnauthenticated, providers.ErrPermission, providers.ErrQuota,
		providers.ErrRateLimited, providers.ErrUnsupported} {
		if errors.Is(err, s) {
			return s, true
		}
	}
	return nil, false
}

// retryAfter parses a Retry-After header: delta seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// faultMessage extracts the human message of an OpenStack error body:
// Nova's {"itemNotFound": {"message": ...}}, Neutron's {"NeutronError":
// {"message": ...}}, Keystone's {"error": {"message": ...}}, Placement's
// {"errors": [{"detail": ...}]}, or Glance's plain text and HTML.
func faultMessage(body []byte) string {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err == nil {
		if m := messageIn(doc); m != "" {
			return m
		}
	}
	s := tagRE.ReplaceAllString(string(body), " ")
	s = strings.Join(strings.Fields(s), " ")
	// Glance and webob repeat the status line ("404 Not Found 404 Not
	// Found No image found with ID ...").
	for len(s) > 4 && s[3] == ' ' {
		if _, err := strconv.Atoi(s[:3]); err != nil {
			break
		}
		s = strings.TrimSpace(s[4:])
		for _, reason := range []string{"Not Found", "Bad Request", "Conflict", "Forbidden", "Unauthorized", "Request Entity Too Large",
			"Too Many Requests", "Service Unavailable", "Internal Server Error", "Gone", "Not Acceptable"} {
			if t, ok := strings.CutPrefix(s, reason); ok {
				s = strings.TrimSpace(t)
				break
			}
		}
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func messageIn(doc map[string]any) string {
	for _, key := range []string{"message", "detail", "faultstring"} {
		if m, ok := doc[key].(string); ok && m != "" {
			return m
		}
	}
	if errs, ok := doc["errors"].([]any); ok && len(errs) > 0 {
		if e, ok := errs[0].(map[string]any); ok {
			return messageIn(e)
		}
	}
	for _, v := range doc {
		if inner, ok := v.(map[string]any); ok {
			if m := messageIn(inner); m != "" {
				return m
			}
		}
	}
	return ""
}
