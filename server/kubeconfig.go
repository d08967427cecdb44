package server

import (
	"log/slog"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// kubeconfigHandler serves the kubeconfig page and its downloads
// (docs/pages.md). Both need a login to torii's own pages: the page shows
// the person what the API server will see, and a confidential client's
// secret is in the files.
type kubeconfigHandler struct {
	cfg     *KubeconfigConfig // nil: the page is off
	issuer  issuer
	clients *clientLookup
	pages   *pages
	// login knows who is logged in to torii's pages (pageLogin.user), or
	// answers the request itself (a redirect to log in, an error page).
	login *pageLogin
	log   *slog.Logger
}

// kubeconfigPage is the page's own data (.Kubeconfig in the template).
type kubeconfigPage struct {
	Email         string
	EmailVerified bool
	Groups        []string
	ClientID      string
	// Confidential: the files hold the client's secret.
	Confidential bool
	Clusters     []kubeconfigClusterView
}

type kubeconfigClusterView struct {
	Name, Server string
	// ID is the HTML id of the cluster's heading.
	ID string
	// YAML is the whole file; DownloadURL serves the same as an attachment.
	YAML, DownloadURL string
	// SetCredentials and SetContext are the kubectl commands that add the
	// user to an existing kubeconfig.
	SetCredentials, SetContext string
}

func (h *kubeconfigHandler) page(w http.ResponseWriter, r *http.Request) {
	if h.cfg == nil {
		h.pages.errorPage(w, r, http.StatusNotFound, "err.kubeconfig_off")
		return
	}
	who, ok := h.login.user(w, r)
	if !ok {
		return
	}
	client, ok := h.client(w, r)
	if !ok {
		return
	}
	v := &kubeconfigPage{Email: who.Email, EmailVerified: who.EmailVerified, Groups: who.Groups, ClientID: client.ID, Confidential: !client.Public}
	for _, c := range h.cfg.Clusters {
		s := h.spec(client, c)
		y, err := renderKubeconfig(s)
		if err != nil {
			h.log.ErrorContext(r.Context(), "rendering a kubeconfig", "cluster", c.Name, "err", err)
			h.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
			return
		}
		v.Clusters = append(v.Clusters, kubeconfigClusterView{
			Name: c.Name, Server: c.Server, ID: "cluster-" + c.Name, YAML: string(y),
			DownloadURL:    h.issuer.at("/kubeconfig/" + c.Name),
			SetCredentials: setCredentialsCommand(s), SetContext: setContextCommand(s),
		})
	}
	h.pages.render(w, r, http.StatusOK, "kubeconfig.html", pageData{title: tr("kubeconfig.title"), Kubeconfig: v, Wide: true})
}

// download is one cluster's kubeconfig as a file to save.
func (h *kubeconfigHandler) download(w http.ResponseWriter, r *http.Request) {
	if h.cfg == nil {
		h.pages.errorPage(w, r, http.StatusNotFound, "err.kubeconfig_off")
		return
	}
	// The login first: which clusters exist is for people who may log in.
	if _, ok := h.login.user(w, r); !ok {
		return
	}
	name := chi.URLParam(r, "cluster")
	c, found := h.cfg.cluster(name)
	if !found {
		h.pages.errorPage(w, r, http.StatusNotFound, "err.kubeconfig_unknown_cluster", "name", name)
		return
	}
	client, ok := h.client(w, r)
	if !ok {
		return
	}
	y, err := renderKubeconfig(h.spec(client, c))
	if err != nil {
		h.log.ErrorContext(r.Context(), "rendering a kubeconfig", "cluster", c.Name, "err", err)
		h.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	hd := w.Header()
	// RFC 9512's type for YAML; the file name is the cluster's (names are
	// restricted to characters safe in a file name).
	hd.Set("Content-Type", "application/yaml; charset=utf-8")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "kubeconfig-" + c.Name + ".yaml"}))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(y)
}

// client is the configured client (a static one, checked at start).
func (h *kubeconfigHandler) client(w http.ResponseWriter, r *http.Request) (Client, bool) {
	c, ok := h.clients.static[h.cfg.ClientID]
	if !ok {
		h.log.ErrorContext(r.Context(), "kubeconfig.clientID is not a static client", "client_id", h.cfg.ClientID)
		h.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
		return Client{}, false
	}
	return c, true
}

func (h *kubeconfigHandler) spec(client Client, c KubeconfigCluster) kubeconfigSpec {
	s := kubeconfigSpec{Issuer: h.issuer.URL, ClientID: client.ID, Cluster: c}
	if !client.Public {
		s.ClientSecret = client.Secret
	}
	return s
}
