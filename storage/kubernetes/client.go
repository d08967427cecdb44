package kubernetes

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

// maxResponse bounds what one API response may make torii read (a list
// page of 500 objects is far below it).
const maxResponse = 64 << 20

// client is a small REST client for the Kubernetes API server: JSON in and
// out, the Status object of a failure turned into an *apiError.
type client struct {
	base  string // https://host:port, no trailing slash
	http  *http.Client
	token func() (string, error) // bearer token; nil without one
}

// apiError is a failure the API server answered with (its Status object).
type apiError struct {
	Code    int
	Reason  string
	Message string
	Op      string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("kubernetes: %s: %d %s: %s", e.Op, e.Code, e.Reason, e.Message)
}

// Is maps the API server's answers onto storage's sentinels.
func (e *apiError) Is(target error) bool {
	switch target {
	case storage.ErrNotFound:
		return e.Code == http.StatusNotFound
	case storage.ErrAlreadyExists:
		return e.Code == http.StatusConflict && e.Reason == "AlreadyExists"
	case storage.ErrUnavailable:
		return e.Code >= 500 || e.Code == http.StatusTooManyRequests
	}
	return false
}

// conflict: the object changed since it was read (resourceVersion).
func isConflict(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == http.StatusConflict && ae.Reason != "AlreadyExists"
}

func isForbidden(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Code == http.StatusForbidden || ae.Code == http.StatusUnauthorized)
}

func newHTTPClient(tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // the API server is reached directly, as client-go does in-cluster
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// do sends one request. body (if not nil) is sent as JSON; a 2xx answer is
// decoded into out (if not nil). A failure to reach the server, or a 5xx
// or 429 answer, is storage.ErrUnavailable; a done ctx is ctx's error.
func (c *client) do(ctx context.Context, op, method, path string, query url.Values, body, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("kubernetes: %s: encode: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("kubernetes: %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != nil {
		tok, err := c.token()
		if err != nil {
			return fmt.Errorf("kubernetes: %s: %w: %w", op, storage.ErrUnavailable, err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("kubernetes: %s: %w", op, ctxErr)
		}
		return fmt.Errorf("kubernetes: %s: %w: %w", op, storage.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("kubernetes: %s: %w", op, ctxErr)
		}
		return fmt.Errorf("kubernetes: %s: %w: %w", op, storage.ErrUnavailable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &apiError{Code: resp.StatusCode, Op: op}
		var st struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil {
			ae.Reason, ae.Message = st.Reason, st.Message
		}
		if ae.Message == "" {
			ae.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return ae
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("kubernetes: %s: decode answer: %w", op, err)
		}
	}
	return nil
}
