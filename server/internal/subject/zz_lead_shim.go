// TEMPORARY stand-in written by the lead so the server builds; the redirect/sub/PKCE
// helper replaces this package: delete this file when your real files land.

package subject

import "encoding/base64"

func Encode(userID, connID string) string {
	var b []byte
	add := func(tag byte, s string) {
		if s == "" {
			return
		}
		b = append(b, tag)
		n := len(s)
		for n >= 0x80 {
			b = append(b, byte(n)|0x80)
			n >>= 7
		}
		b = append(b, byte(n))
		b = append(b, s...)
	}
	add(0x0a, userID)
	add(0x12, connID)
	return base64.RawURLEncoding.EncodeToString(b)
}
