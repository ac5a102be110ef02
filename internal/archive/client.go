package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Client downloads from archives with net/http, using the proxy from the
// standard environment variables. An offline Client refuses every request
// that would leave the machine (file: URLs still work).
type Client struct {
	http    *http.Client
	offline bool
	// stall is how long a transfer may go without a byte before it is
	// abandoned (a dead connection would otherwise hang a refresh).
	stall time.Duration
	// retryWait is the pause before the first retry; later ones wait longer.
	retryWait time.Duration
}

// errStalled ends a transfer that received nothing for too long.
var errStalled = errors.New("transfer stalled")

// NewClient returns a Client; offline makes it refuse all network requests.
func NewClient(offline bool) *Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		// Indexes are compressed already; asking for gzip would change the
		// bytes we hash.
		DisableCompression: true,
	}
	tr.RegisterProtocol("file", http.NewFileTransport(http.Dir("/")))
	var rt http.RoundTripper = tr
	if offline {
		rt = offlineTransport{file: http.NewFileTransport(http.Dir("/"))}
	}
	return &Client{http: &http.Client{Transport: rt}, offline: offline, stall: 60 * time.Second, retryWait: time.Second}
}

// Offline reports whether c refuses network requests.
func (c *Client) Offline() bool { return c.offline }

type offlineTransport struct{ file http.RoundTripper }

func (t offlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "file" {
		return t.file.RoundTrip(r)
	}
	return nil, ErrOffline
}

// response is the part of an HTTP exchange callers need.
type response struct {
	Status       int
	Body         []byte
	ETag         string
	LastModified string
}

// get fetches url into memory (at most limit bytes). Validators make it a
// conditional request; a 304 answer is returned with an empty body.
func (c *Client) get(ctx context.Context, url string, limit int64, etag, lastModified string) (*response, error) {
	var resp *response
	err := c.retry(ctx, func() error {
		var err error
		resp, err = c.get1(ctx, url, limit, etag, lastModified)
		return err
	})
	return resp, err
}

func (c *Client) get1(ctx context.Context, url string, limit int64, etag, lastModified string) (resp0 *response, err0 error) {
	ctx, touch, stop := c.watchdog(ctx)
	defer func() { stop(); err0 = c.stalled(ctx, url, err0) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &FetchError{URL: url, Err: err}
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &FetchError{URL: url, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if resp.StatusCode == http.StatusNotModified {
		return out, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &FetchError{URL: url, Status: resp.StatusCode}
	}
	out.Body, err = io.ReadAll(&progressReader{r: io.LimitReader(resp.Body, limit+1), fn: func(int) { touch() }})
	if err != nil {
		return nil, &FetchError{URL: url, Err: err}
	}
	if int64(len(out.Body)) > limit {
		return nil, &FetchError{URL: url, Err: fmt.Errorf("response larger than %d bytes", limit)}
	}
	return out, nil
}

// download streams url into path (created exclusively), checking the size
// and SHA256 from the signed chain; source names that chain link for error
// messages. On any failure path is removed. progress, if set, receives
// byte counts as they arrive.
func (c *Client) download(ctx context.Context, url, path string, size int64, sha string, source string, progress func(int)) error {
	return c.retry(ctx, func() error { return c.download1(ctx, url, path, size, sha, source, progress) })
}

func (c *Client) download1(ctx context.Context, url, path string, size int64, sha string, source string, progress func(int)) (err0 error) {
	ctx, touch, stop := c.watchdog(ctx)
	defer func() { stop(); err0 = c.stalled(ctx, url, err0) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &FetchError{URL: url, Err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &FetchError{URL: url, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &FetchError{URL: url, Status: resp.StatusCode}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Base(path), err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(path)
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var r io.Reader = &progressReader{r: io.LimitReader(resp.Body, size+1), fn: func(n int) {
		touch()
		if progress != nil {
			progress(n)
		}
	}}
	n, err := io.Copy(w, r)
	if err != nil {
		return &FetchError{URL: url, Err: err}
	}
	if err := checkSum(filepath.Base(path), n, h, size, sha, source); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	ok = true
	return nil
}

// retries is how many times a transfer is tried again after a network
// error, a stall or a server error (apt's Acquire::Retries is 3).
const retries = 2

// retry runs fn until it succeeds, fails for good, or has been retried
// retries times, waiting a little longer each time.
func (c *Client) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt == retries || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * c.retryWait):
		}
	}
}

// retryable reports whether a failed transfer may succeed when tried again.
func retryable(err error) bool {
	var fe *FetchError
	if !errors.As(err, &fe) || errors.Is(err, ErrOffline) || errors.Is(err, context.Canceled) {
		return false
	}
	return fe.Status == 0 || fe.Status >= 500
}

// watchdog returns a context that is cancelled when touch is not called
// for c.stall, and stop, which must be called when the transfer ends.
func (c *Client) watchdog(ctx context.Context) (context.Context, func(), func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(c.stall, func() { cancel(errStalled) })
	return ctx, func() { t.Reset(c.stall) }, func() { t.Stop(); cancel(nil) }
}

// stalled turns an error caused by the watchdog into a *FetchError that
// says so.
func (c *Client) stalled(ctx context.Context, url string, err error) error {
	if err == nil || !errors.Is(context.Cause(ctx), errStalled) {
		return err
	}
	return &FetchError{URL: url, Err: fmt.Errorf("no data for %s: %w", c.stall, errStalled)}
}

func checkSum(name string, n int64, h hash.Hash, size int64, sha, source string) error {
	if n != size {
		return &HashMismatchError{File: name, What: "size", Want: strconv.FormatInt(size, 10), Got: strconv.FormatInt(n, 10), Source: source}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return &HashMismatchError{File: name, What: "SHA256", Want: sha, Got: got, Source: source}
	}
	return nil
}

type progressReader struct {
	r  io.Reader
	fn func(int)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(n)
	}
	return n, err
}

// unwrapURLError drops net/http's *url.Error wrapper: FetchError already
// names the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
