package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/storage"
)

// The browser side of the device flow: the page where the person types the
// user code, the confirmation that names the application (RFC 8628 §5.4:
// a code sent by someone else is how remote phishing works), and the page
// the login ends on.

// deviceFormID binds the device pages' forms to the browser (there is no
// auth request yet).
const deviceFormID = "device"

// formTokenFor is formToken for a binding value set in this response.
func formTokenFor(binding, reqID string) string {
	return hashToken("form\x00" + binding + "\x00" + reqID)
}

// deviceEntry is GET /device: the form for the user code, pre-filled from
// ?user_code= (verification_uri_complete).
func (f *authFlow) deviceEntry(w http.ResponseWriter, r *http.Request) {
	binding, err := f.browser.ensure(w, r)
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	code := r.URL.Query().Get("user_code")
	if len(code) > 64 {
		code = ""
	}
	f.renderDeviceEntry(w, r, http.StatusOK, binding, code, message{})
}

func (f *authFlow) renderDeviceEntry(w http.ResponseWriter, r *http.Request, status int, binding, code string, msg message) {
	f.pages.render(w, r, status, "device.html", pageData{
		title: tr("device.title"), Action: f.issuer.at("/device/auth/verify_code"),
		CSRF: formTokenFor(binding, deviceFormID), UserCode: code, err: msg,
	})
}

// deviceVerify is POST /device/auth/verify_code (Dex's form: user_code).
// A known code first gets the confirmation page; confirm=yes starts the
// login, confirm=deny tells the device no.
func (f *authFlow) deviceVerify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	if !f.browser.validForm(r, deviceFormID) {
		f.pages.errorPage(w, r, http.StatusForbidden, "err.device_form_expired")
		return
	}
	ctx := r.Context()
	binding := f.browser.cookie(r)
	typed := r.PostForm.Get("user_code")
	ip := f.ips.clientIP(r)
	if t := f.logins.throttle; t != nil {
		if until, err := t.userCodeAllowed(ctx, ip); err != nil {
			f.storageErrorPage(w, r, err)
			return
		} else if !until.IsZero() {
			f.log.WarnContext(ctx, "user code entry throttled", "client_ip", ip)
			w.Header().Set("Retry-After", retryAfter(until.Sub(f.now())))
			f.renderDeviceEntry(w, r, http.StatusTooManyRequests, binding, typed, tr("device.throttled"))
			return
		}
	}
	d, norm, ok, err := loadDeviceByUserCode(ctx, f.store, f.now(), typed)
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	if !ok {
		if t := f.logins.throttle; t != nil {
			if err := t.wrongUserCode(ctx, ip); err != nil {
				f.storageErrorPage(w, r, err)
				return
			}
		}
		f.renderDeviceEntry(w, r, http.StatusBadRequest, binding, typed, tr("device.bad_code"))
		return
	}
	audit.SetClient(ctx, d.ClientID)
	client, found, err := f.clients.get(ctx, d.ClientID)
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	if !found {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.device_client_gone")
		return
	}
	switch r.PostForm.Get("confirm") {
	case "":
		name := client.Name
		if name == "" {
			name = client.ID
		}
		f.pages.render(w, r, http.StatusOK, "device_confirm.html", pageData{
			title: tr("device.confirm_title"), Action: f.issuer.at("/device/auth/verify_code"),
			CSRF: formTokenFor(binding, deviceFormID), UserCode: displayUserCode(norm), ClientName: name,
		})
	case "deny":
		f.markDenied(w, r, d.ID, d.ClientID)
	case "yes":
		f.startDeviceLogin(w, r, d, client, binding)
	default:
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_device_confirm")
	}
}

// startDeviceLogin creates the auth request of a confirmed device login
// and hands it to the dispatcher, like /auth does.
func (f *authFlow) startDeviceLogin(w http.ResponseWriter, r *http.Request, d storage.DeviceRequest, client Client, binding string) {
	ar := storage.AuthRequest{
		ID:            newToken(),
		ClientID:      d.ClientID,
		ResponseTypes: []string{responseTypeDevice},
		Scopes:        d.Scopes,
		RedirectURI:   f.issuer.absolute("/device/callback"),
		State:         d.ID,
		BrowserHash:   hashToken(binding),
		Expiry:        d.Expiry,
	}
	if err := f.resumeSession(r, &ar, url.Values{}, client); err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	if err := f.store.CreateAuthRequest(r.Context(), ar); err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	f.next(w, r, ar)
}

// deviceCallback is GET /device/callback, where a device login ends: done,
// or the error a connector or the dispatcher sent.
func (f *authFlow) deviceCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		// error_description is the dispatcher's or a connector's text
		// (English, also what the device is told); the rest is the catalog's.
		msg := tr("device.failed")
		if d := q.Get("error_description"); d != "" && len(d) <= 300 {
			msg = tr("device.failed_reason", "reason", d)
		}
		f.pages.render(w, r, http.StatusBadRequest, "device_done.html", pageData{title: tr("err.login_failed.title"), message: msg})
		return
	}
	name := ""
	if id := q.Get("client_id"); id != "" && len(id) <= maxParamLen {
		if c, ok, err := f.clients.get(r.Context(), id); err == nil && ok {
			name = c.Name
			if name == "" {
				name = c.ID
			}
		}
	}
	msg := tr("device.done")
	if name != "" {
		msg = tr("device.done_client", "client", name)
	}
	f.pages.render(w, r, http.StatusOK, "device_done.html", pageData{title: tr("device.done_title"), message: msg})
}

// retryAfter is a Retry-After value in whole seconds (at least 1).
func retryAfter(d time.Duration) string {
	s := int64(d/time.Second) + 1
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
