// Package redirecturi decides which redirect URIs a client may use (/auth)
// and whether the redirect_uri sent to /token is the one used at /auth.
//
// # Matching
//
// A redirect URI matches when it is equivalent (below) to one of the
// client's registered URIs; there are no wildcards and no prefix matches.
// Relative URIs such as "/oauth2/callback" (oauth2-proxy in Kubeflow) are
// accepted only when registered. Public clients get the RFC 8252 loopback
// rules: any port for a registered http loopback URI, and any http loopback
// URI when they register none. See Match.
//
// # Equivalence
//
// Clients do not always spell a URI the same way: MediaWiki sends
// https://wiki.example/wiki/特別:OpenIDConnectCallback raw or as
// .../%E7%89%B9%E5%88%A5:OpenIDConnectCallback at /auth, and encodes it once
// more (%25E7%2589%25B9...) at /token. Equivalent compares canonical forms,
// built from a valid URI as follows; nothing else is normalized.
//
//  1. The URI is split per RFC 3986 Appendix B into scheme, authority
//     (host and port), path and query. A delimiter only counts as one where
//     it is written raw; "%2F", "%3F", "%3A" ... are data.
//  2. The scheme is lowercased. In the host, ASCII letters are lowercased
//     (IDNA is not applied). The port is compared as written, and a URI with
//     a port never equals one without: http://a and http://a:80 differ.
//  3. In host, path and query, each percent-escape of an unreserved character
//     (ALPHA DIGIT - . _ ~) is decoded ("%7E" → "~", "%41" → "A"), each raw
//     non-ASCII byte is percent-encoded ("特" → "%E7%89%B9"), and the hex
//     digits of the remaining escapes are uppercased ("%2f" → "%2F",
//     "%e7" → "%E7"). Escapes of anything else are never decoded: reserved
//     characters (%2F %3F %23 %26 %3D %2B %3B %40 %3A %2C ...), "%25" (a
//     percent sign) and other ASCII ("%20" stays, and is not "+").
//  4. Multiply-encoded non-ASCII text, in path and query only: a non-ASCII
//     character whose UTF-8 bytes are each written "%" then "25" k times then
//     the byte's hex (k ≥ 1, the same k for every byte of the character) is
//     rewritten with k = 0, so "%25E7%2589%25B9" and "%2525E7%252589%2525B9"
//     both become "%E7%89%B9". This applies only if every "%25" in the path
//     and the query begins such a character; a URI with any other "%25"
//     ("%2541", "%25" at the end, "%25FF", "%25E7" not followed by the rest
//     of a valid UTF-8 character, mixed depths) is left as step 3 made it.
//  5. Nothing else: query parameters keep their order, "http://a" and
//     "http://a/" differ, dot segments are not removed, "+" and "%20" differ,
//     "%7B" and "{" differ (Valid refuses "{"), an empty query ("?") differs
//     from none.
//
// Why step 4 is safe. Decoding "%25" does change what a URI says at the
// first level: "/%25E7" is the text "%E7", "/%E7" is the byte 0xE7. The rule
// is kept as narrow as the MediaWiki case needs, so that the texts it equates
// are always two encodings of the same non-ASCII string:
//   - It never produces or consumes a delimiter. Its input is "%25" and
//     characters that are themselves data, its output is escapes of bytes
//     >= 0x80, which are never delimiters. So the scheme, host, port, the
//     split into path segments and into query keys and values are exactly
//     the same before and after; only text inside one segment, key or value
//     changes.
//   - It never touches the host, so it cannot change where a code is sent.
//   - The once-decoded text it equates with a character is that character's
//     own percent-encoding ("%E7%89%B9" for "特"), and only for complete,
//     valid UTF-8 (no overlong forms, no surrogates): random "%" + hex text
//     such as "%FF" or "%E7" alone is left alone.
//   - A URI that uses "%25" to mean a literal percent sign anywhere else
//     (e.g. "%2541" is the text "%41") is not treated as multiply encoded at
//     all: the rule is all-or-nothing per URI.
//
// Why the empty path is not "/". RFC 3986 §6.2.3 lets http(s) normalizers
// equate them, but operators register exactly what their applications send,
// Dex compares strings exactly, and the lax reading buys nothing that a
// second registered URI cannot. Strict is the safe default.
//
// Equivalence is an equivalence relation (canonical forms are compared), and
// a string that is not Valid is equivalent only to itself.
package redirecturi
