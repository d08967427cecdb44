package interop

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// browser is what a person's browser does with torii's pages, in net/http:
// a cookie jar, redirects followed, forms parsed from the HTML and
// submitted with every hidden field the page has.
type browser struct {
	hc *http.Client
	// stopAt, when set, stops before following a redirect to a matching
	// URL (a relying party's callback that nothing serves).
	stopAt func(*url.URL) bool
}

func newBrowser(ca *testCA) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{}
	b.hc = &http.Client{
		Transport: ca.transport(),
		Jar:       jar,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 20 {
				return errors.New("more than 20 redirects")
			}
			if b.stopAt != nil && b.stopAt(req.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return b
}

// page is a response as the browser saw it.
type page struct {
	URL      *url.URL // after redirects
	Status   int
	Header   http.Header
	Body     string
	Location string // set when stopped at a redirect
}

func (p *page) String() string {
	body := p.Body
	if len(body) > 1500 {
		body = body[:1500] + "..."
	}
	return fmt.Sprintf("%s -> HTTP %d (Location %q)\n%s", p.URL, p.Status, p.Location, body)
}

func (b *browser) get(u string) (*page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*page, error) {
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body),
		Location: resp.Header.Get("Location")}, nil
}

// form is one <form> of a page.
type form struct {
	Action string
	Method string
	Fields url.Values // every input with a name, with its value
	Types  map[string]string
}

// forms parses every form of an HTML page.
func forms(body string) ([]form, error) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	var out []form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				out = append(out, form{Action: attr(n, "action"), Method: strings.ToUpper(attr(n, "method")),
					Fields: url.Values{}, Types: map[string]string{}})
				cur = &out[len(out)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input", "button":
				if cur != nil && attr(n, "name") != "" {
					typ := strings.ToLower(attr(n, "type"))
					if n.Data == "button" && typ == "" {
						typ = "submit"
					}
					name := attr(n, "name")
					cur.Types[name] = typ
					if typ != "submit" {
						cur.Fields.Add(name, attr(n, "value"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// links returns the href of every <a> of a page.
func links(body string) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" && attr(n, "href") != "" {
			out = append(out, attr(n, "href"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// passwordForm finds the login form: the one with a password field.
func passwordForm(p *page) (form, error) {
	fs, err := forms(p.Body)
	if err != nil {
		return form{}, err
	}
	for _, f := range fs {
		for _, typ := range f.Types {
			if typ == "password" {
				return f, nil
			}
		}
	}
	return form{}, fmt.Errorf("no login form on the page: %s", p)
}

// submit posts a form of page p with the given fields set (the others keep
// the values from the page, hidden ones included).
func (b *browser) submit(p *page, f form, set map[string]string) (*page, error) {
	action, err := p.URL.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	vals := url.Values{}
	for k, v := range f.Fields {
		vals[k] = append([]string(nil), v...)
	}
	for k, v := range set {
		vals.Set(k, v)
	}
	method := f.Method
	if method == "" {
		method = http.MethodGet
	}
	var req *http.Request
	if method == http.MethodPost {
		req, err = http.NewRequest(method, action.String(), strings.NewReader(vals.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		action.RawQuery = vals.Encode()
		req, err = http.NewRequest(method, action.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// login is a person's whole visit from start (an app's login link or an
// authorization URL) to wherever torii sends them back: it picks the
// connector if torii asks, fills the login form and, if torii shows the
// approval page, approves.
func (b *browser) login(start, connectorID string, who person) (*page, error) {
	p, err := b.get(start)
	if err != nil {
		return nil, err
	}
	if p, err = b.chooseConnector(p, connectorID); err != nil {
		return nil, err
	}
	f, err := passwordForm(p)
	if err != nil {
		return nil, err
	}
	if p, err = b.submit(p, f, map[string]string{"login": who.Login, "password": who.Password}); err != nil {
		return nil, err
	}
	return b.approve(p)
}

// chooseConnector follows the link to /auth/{connectorID} when p is the
// connector list.
func (b *browser) chooseConnector(p *page, connectorID string) (*page, error) {
	if _, err := passwordForm(p); err == nil {
		return p, nil
	}
	for _, href := range links(p.Body) {
		u, err := p.URL.Parse(href)
		if err != nil {
			continue
		}
		if strings.HasSuffix(u.Path, "/auth/"+connectorID) {
			return b.get(u.String())
		}
	}
	return p, nil
}

// approve submits the approval form if p is the approval page.
func (b *browser) approve(p *page) (*page, error) {
	if !strings.HasSuffix(p.URL.Path, "/approval") || p.Location != "" {
		return p, nil
	}
	fs, err := forms(p.Body)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Fields.Get("approval") == "approve" || f.Types["approval"] != "" {
			return b.submit(p, f, map[string]string{"approval": "approve"})
		}
	}
	return p, nil
}
