package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Times are stored as INTEGER unix microseconds: compact, sortable, and
// compared with plain < in GC. The zero time is NULL.

func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func timeFrom(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// jsonValue encodes slices and claims. Marshalling these plain types cannot
// fail, so a failure is a programming error reported as such.
func jsonValue(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode %T: %w", v, err)
	}
	return string(b), nil
}

func jsonFrom(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("sqlite: decode %T: %w", v, err)
	}
	return nil
}

// blobValue keeps nil as NULL and an empty slice as an empty BLOB.
func blobValue(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// retiredKey is the stored form of storage.RetiredKey, independent of the
// Go field names.
type retiredKey struct {
	JWK    []byte `json:"jwk"`
	Expiry int64  `json:"expiry_unix_micro"`
}

func encodeRetired(keys []storage.RetiredKey) (string, error) {
	out := make([]retiredKey, len(keys))
	for i, k := range keys {
		out[i] = retiredKey{JWK: k.JWK, Expiry: k.Expiry.UnixMicro()}
	}
	return jsonValue(out)
}

func decodeRetired(s string) ([]storage.RetiredKey, error) {
	var in []retiredKey
	if err := jsonFrom(s, &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]storage.RetiredKey, len(in))
	for i, k := range in {
		out[i] = storage.RetiredKey{JWK: k.JWK, Expiry: time.UnixMicro(k.Expiry).UTC()}
	}
	return out, nil
}
