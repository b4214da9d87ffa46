package sim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// SignURL implements providers.URLSigner: the simulator signs URLs served
// by canopyd itself (opts.BaseURL) with an HMAC of the method, bucket, key,
// expiry and content type under the cloud's own key.
func (c *Cloud) SignURL(ctx context.Context, bucket, key string, opts providers.SignOptions) (providers.SignedURL, error) {
	if err := c.call(ctx, "SignURL"); err != nil {
		return providers.SignedURL{}, err
	}
	if opts.BaseURL == "" {
		return providers.SignedURL{}, fmt.Errorf("sim: sign: %w: no base URL to serve signed URLs from", providers.ErrUnsupported)
	}
	if opts.Method != http.MethodGet && opts.Method != http.MethodPut {
		return providers.SignedURL{}, fmt.Errorf("sim: sign %s: %w", opts.Method, providers.ErrInvalid)
	}
	c.mu.Lock()
	_, err := c.bucket(bucket)
	c.mu.Unlock()
	if err != nil {
		return providers.SignedURL{}, err
	}
	exp := time.Now().Add(opts.Expiry).Truncate(time.Second)
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(exp.Unix(), 10))
	headers := map[string]string{}
	if opts.Method == http.MethodPut && opts.ContentType != "" {
		q.Set("content_type", opts.ContentType)
		headers["Content-Type"] = opts.ContentType
	}
	q.Set("signature", c.sign(opts.Method, bucket, key, q.Get("expires"), q.Get("content_type")))
	u := strings.TrimRight(opts.BaseURL, "/") + "/" + url.PathEscape(bucket) + "/" + escapeKey(key) + "?" + q.Encode()
	return providers.SignedURL{URL: u, Method: opts.Method, Expires: exp, Headers: headers}, nil
}

func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (c *Cloud) sign(method, bucket, key, expires, contentType string) string {
	c.mu.Lock()
	k := c.objs().signKey
	c.mu.Unlock()
	m := hmac.New(sha256.New, k)
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s", method, bucket, key, expires, contentType)
	return hex.EncodeToString(m.Sum(nil))
}

// ServeSignedURL implements providers.SignedURLServer: path is
// "bucket/key" (unescaped). Expired, tampered or misused URLs are 403, as
// S3 answers them.
func (c *Cloud) ServeSignedURL(w http.ResponseWriter, r *http.Request, path string) {
	bucket, key, ok := strings.Cut(path, "/")
	q := r.URL.Query()
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if !ok || key == "" {
		http.Error(w, "sim: signed URL names no object", http.StatusBadRequest)
		return
	}
	want := c.sign(method, bucket, key, q.Get("expires"), q.Get("content_type"))
	if !hmac.Equal([]byte(want), []byte(q.Get("signature"))) {
		http.Error(w, "SignatureDoesNotMatch: the signature does not match the request", http.StatusForbidden)
		return
	}
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || time.Now().Unix() > exp {
		http.Error(w, "AccessDenied: Request has expired", http.StatusForbidden)
		return
	}
	ctx := r.Context()
	switch method {
	case http.MethodGet:
		c.mu.Lock()
		o, err := c.object(bucket, key)
		var rd io.ReadSeekCloser
		if err == nil {
			rd, err = c.obj.reader(o)
		}
		c.mu.Unlock()
		if err != nil {
			http.Error(w, "NoSuchKey: "+err.Error(), http.StatusNotFound)
			return
		}
		defer rd.Close()
		_ = c.call(ctx, "GetObject")
		w.Header().Set("ETag", `"`+o.o.ETag+`"`)
		w.Header().Set("Content-Type", o.o.ContentType)
		http.ServeContent(w, r, "", o.o.Modified, rd)
	case http.MethodPut:
		if ct := q.Get("content_type"); ct != "" && r.Header.Get("Content-Type") != ct {
			http.Error(w, "SignatureDoesNotMatch: Content-Type is not the signed one", http.StatusForbidden)
			return
		}
		ow, err := c.NewWriter(ctx, bucket, key, providers.WriteOptions{ContentType: r.Header.Get("Content-Type"), Size: r.ContentLength})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		n, err := io.Copy(ow, r.Body)
		if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
			err = fmt.Errorf("sim: body of %d bytes, Content-Length %d", n, r.ContentLength)
		}
		if err != nil {
			_ = ow.Abort()
			http.Error(w, "IncompleteBody: "+err.Error(), http.StatusBadRequest)
			return
		}
		o, err := ow.Commit()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("ETag", `"`+o.ETag+`"`)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
