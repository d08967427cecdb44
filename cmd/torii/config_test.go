package main

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/torii-idp/torii/server"
)

// demoHash is bcrypt("password") at cost 10.
const demoHash = "$2a$10$wc6c7WKVQlp2//EoflgSxufCcsFPkSNa3hh7mFfvWT6cGL4HsYChm"

// kubeflowDex is the Dex config Kubeflow's manifests ship.
const kubeflowDex = `issuer: http://dex.auth.svc.cluster.local:5556/dex
storage:
  type: kubernetes
  config:
    inCluster: true
web:
  http: 0.0.0.0:5556
logger:
  level: "debug"
  format: text
oauth2:
  skipApprovalScreen: true
enablePasswordDB: true
staticPasswords:
- email: user@example.com
  hashFromEnv: DEX_USER_PASSWORD
  username: user
  userID: "15841185641784"
staticClients:
# https://github.com/dexidp/dex/pull/1664
- idEnv: OIDC_CLIENT_ID
  redirectURIs: ["/oauth2/callback"]
  name: 'Dex Login Application'
  secretEnv: OIDC_CLIENT_SECRET
`

// typicalDex is a Dex config of the usual shape: LDAP plus static users,
// postgres, TLS, expiry, CORS and the newer signer block.
const typicalDex = `issuer: https://auth.example.com/dex
storage:
  type: postgres
  config:
    host: db.example.com
    port: 5432
    database: dex
    user: dex
    password: $PGPASSWORD
    ssl:
      mode: verify-full
      caFile: /etc/dex/pg-ca.crt
    connectionTimeout: 5
    maxOpenConns: 10
    connMaxLifetime: 300
web:
  https: 0.0.0.0:5554
  tlsCert: /etc/dex/tls.crt
  tlsKey: /etc/dex/tls.key
  tlsMinVersion: "1.3"
  headers:
    Strict-Transport-Security: "max-age=31536000; includeSubDomains"
    X-Frame-Options: deny
    X-XSS-Protection: ""
  allowedOrigins: ["https://app.example.com"]
telemetry:
  http: 0.0.0.0:5558
logger:
  level: info
  format: json
expiry:
  idTokens: 1h
  authRequests: 10m
  refreshTokens:
    reuseInterval: 5s
    validIfNotUsedFor: 2160h
    absoluteLifetime: 3960h
signer:
  type: local
  config:
    keysRotationPeriod: 12h
    algorithm: ES256
oauth2:
  responseTypes: [code]
  grantTypes: [authorization_code, refresh_token, password]
  skipApprovalScreen: true
  alwaysShowLoginScreen: true
  passwordConnector: ldap
  pkce:
    enforce: false
    codeChallengeMethodsSupported: ["S256", "plain"]
frontend:
  issuer: Example Corp
  logoURL: https://example.com/logo.png
staticClients:
- id: oauth2-proxy
  secret: proxy-secret
  name: oauth2-proxy
  redirectURIs: ['https://app.example.com/oauth2/callback']
  trustedPeers: [kubectl]
- id: kubectl
  name: kubectl
  public: true
  redirectURIs: [http://localhost:8000]
connectors:
- type: ldap
  id: ldap
  name: Corp LDAP
  config:
    host: ldap.example.com:636
    bindDN: cn=dex,dc=example,dc=com
    bindPW: ${LDAP_BIND_PW}
    userSearch:
      baseDN: ou=people,dc=example,dc=com
      filter: "(objectClass=person)"
      username: uid
      idAttr: uid
      emailAttr: mail
      nameAttr: cn
enablePasswordDB: true
staticPasswords:
- email: "Admin@Example.com"
  hash: "` + demoHash + `"
  username: admin
  userID: "08a8684b-db88-4b73-90a9-3cd1661f5466"
`

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func parse(t *testing.T, yaml string, vars map[string]string) (*Config, error) {
	t.Helper()
	c, err := ParseConfig("config.yaml", []byte(yaml), env(vars))
	if !c.parsed {
		return c, err
	}
	return c, c.Validate()
}

// problems returns the printed form of every problem.
func problems(err error) []string {
	var out []string
	for _, e := range flatten(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestConfigProblems(t *testing.T) {
	kfEnv := map[string]string{"DEX_USER_PASSWORD": demoHash, "OIDC_CLIENT_ID": "kubeflow-oidc-authservice", "OIDC_CLIENT_SECRET": "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"}
	minimal := "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // each printed problem, in order; nil means valid
	}{
		{name: "kubeflow dex config (kubernetes storage in cluster) loads", yaml: kubeflowDex, env: kfEnv},
		{name: "kubernetes storage: both sources", yaml: minimal + "storage:\n  type: kubernetes\n  config:\n    inCluster: true\n    kubeConfigFile: /k\n",
			want: []string{`config.yaml:6: storage.config: set either inCluster or kubeConfigFile, not both`}},
		{name: "kubernetes storage: no source, unknown key", yaml: minimal + "storage:\n  type: kubernetes\n  config:\n    inCluster: false\n    namespace: x\n",
			want: []string{`config.yaml:6: storage.config: set inCluster: true or kubeConfigFile`, `config.yaml:8: storage.config.namespace: unknown key "namespace"`}},
		{name: "etcd storage refused by name", yaml: minimal + "storage:\n  type: etcd\n",
			want: []string{`config.yaml:5: storage.type: torii does not support etcd storage`}},
		{name: "kubeflow dex config with sqlite3 loads", env: kfEnv,
			yaml: strings.Replace(kubeflowDex, "type: kubernetes\n  config:\n    inCluster: true", "type: sqlite3\n  config:\n    file: /var/lib/torii/torii.db", 1)},
		{name: "typical dex config", yaml: typicalDex, env: map[string]string{"PGPASSWORD": "pg", "LDAP_BIND_PW": "bind"}},
		{name: "minimal", yaml: minimal},
		{name: "unknown key with line", yaml: minimal + "staticClients:\n- id: a\n  secret: s\n  redirectUris: [http://x/cb]\n",
			want: []string{`config.yaml:7: staticClients[0].redirectUris: unknown key "redirectUris" (did you mean "redirectURIs"?)`}},
		{name: "unknown top-level key", yaml: minimal + "issuerr: x\n",
			want: []string{`config.yaml:4: issuerr: unknown key "issuerr"`}},
		{name: "key set twice", yaml: minimal + "issuer: http://other/\n",
			want: []string{`config.yaml:4: issuer: is set twice (first on line 1)`}},
		// expiry.deviceRequests and the device grant type load (the device
		// flow); the rest is refused by name.
		{name: "dex keys torii does not implement", yaml: minimal + `expiry:
  deviceRequests: 5m
frontend:
  theme: coreos
  issuer: Example
oauth2:
  responseTypes: [code, token]
  grantTypes: [authorization_code, "urn:ietf:params:oauth:grant-type:device_code"]
  pkce:
    enforce: true
connectors:
- type: github
  id: github
  name: GitHub
  config:
    clientID: x
signer:
  type: vault
`, want: []string{
			`config.yaml:7: frontend.theme: theme "coreos": torii has the themes light, dark and auto`,
			`config.yaml:10: oauth2.responseTypes[1]: torii does not support response type "token"`,
			`config.yaml:13: oauth2.pkce.enforce: torii does not support enforcing PKCE`,
			`config.yaml:15: connectors[0].type: torii does not support connector type "github"`,
			`config.yaml:21: signer.type: torii does not support signer type "vault"`,
		}},
		{name: "every problem at once", yaml: `storage:
  type: mysql
web:
  https: 0.0.0.0:5554
  tlsMinVersion: "1.1"
logger:
  level: loud
expiry:
  idTokens: 1 day
oauth2:
  passwordConnector: local
staticClients:
- id: app
  redirectURIs: [http://a/cb]
- id: app
  secret: s
  public: yes
staticPasswords:
- email: a@example.com
  hash: not-a-hash
`, want: []string{
			`config.yaml:1: issuer: is required`,
			`config.yaml:2: storage.type: torii does not support mysql storage`,
			`config.yaml:3: web.tlsCert: is required with web.https`,
			`config.yaml:3: web.tlsKey: is required with web.https`,
			`config.yaml:5: web.tlsMinVersion: "1.1" is not one of 1.2, 1.3`,
			`config.yaml:7: logger.level: "loud" is not one of debug, info, warn, error`,
			`config.yaml:9: expiry.idTokens: "1 day" is not a duration`,
			`config.yaml:11: oauth2.passwordConnector: "local" is not a configured connector (set enablePasswordDB: true)`,
			`config.yaml:13: staticClients[0]: client "app" is confidential (public: false) but has no secret or secretEnv`,
			`config.yaml:15: staticClients[1].id: client "app" is already defined at staticClients[0]`,
			`config.yaml:17: staticClients[1].public: must be true or false`,
			`config.yaml:18: staticPasswords: needs enablePasswordDB: true`,
			`config.yaml:19: staticPasswords[0].userID: user "a@example.com": is required`,
			`config.yaml:20: staticPasswords[0].hash: user "a@example.com": not a bcrypt hash`,
		}},
		{name: "unset environment variables", yaml: minimal + `storage:
  type: postgres
  config:
    host: $PGHOST
    password: ${PGPASSWORD}
staticClients:
- idEnv: CLIENT_ID
  secretEnv: CLIENT_SECRET
  redirectURIs: [http://a/cb]
`, env: map[string]string{"PGHOST": "db"}, want: []string{
			`config.yaml:6: storage.config.database: is required for postgres storage`,
			`config.yaml:8: storage.config.password: environment variable PGPASSWORD is not set`,
			`config.yaml:10: staticClients[0].idEnv: environment variable CLIENT_ID is not set`,
			`config.yaml:11: staticClients[0].secretEnv: environment variable CLIENT_SECRET is not set`,
		}},
		{name: "static users", yaml: minimal + `enablePasswordDB: true
staticPasswords:
- email: a@example.com
  hash: "` + demoHash + `"
  userID: "1"
- email: " A@EXAMPLE.com"
  hash: "` + demoHash + `"
  hashFromEnv: HASH
  userID: "1"
- email: b@example.com
  userID: "2"
- email: c@example.com
  hash: "$2a$04$5u9Jg1xj7yuM8VEXd1uvYOpJmUfnChMS3bE4ZBTJtxyWfO9zh/lbK"
  userID: "3"
`, env: map[string]string{"HASH": demoHash}, want: []string{
			`config.yaml:9: staticPasswords[1].email: " A@EXAMPLE.com" is already used by staticPasswords[0]`,
			`config.yaml:10: staticPasswords[1].hash: set either hash or hashFromEnv, not both`,
			`config.yaml:12: staticPasswords[1].userID: "1" is already used by staticPasswords[0]`,
			`config.yaml:13: staticPasswords[2]: user "b@example.com": hash or hashFromEnv is required`,
			`config.yaml:16: staticPasswords[3].hash: user "c@example.com": bcrypt cost 4 is outside 10..16`,
		}},
		{name: "connectors", yaml: minimal + `enablePasswordDB: true
oauth2:
  passwordConnector: corp
connectors:
- type: ldap
  id: local
  config: {}
- type: ldap
  name: no id
- id: x
`, want: []string{
			`config.yaml:6: oauth2.passwordConnector: "corp" is not a configured connector`,
			`config.yaml:9: connectors[0].id: connector id "local" is already used by enablePasswordDB`,
			`config.yaml:11: connectors[1]: id is required`,
			`config.yaml:13: connectors[2]: type is required`,
		}},
		{name: "signer conflicts with expiry.signingKeys", yaml: minimal + "expiry:\n  signingKeys: 6h\nsigner:\n  config:\n    keysRotationPeriod: 12h\n",
			want: []string{`config.yaml:8: signer.config.keysRotationPeriod: conflicts with expiry.signingKeys (6h0m0s)`}},
		{name: "listeners", yaml: "issuer: ftp://x\nweb:\n  http: 5556\ntelemetry:\n  http: 127.0.0.1:5558\n  enableProfiling: \"yes\"\n",
			want: []string{
				`config.yaml:1: issuer: "ftp://x" must be an absolute http or https URL`,
				`config.yaml:3: web.http: "5556" is not a host:port address`,
				`config.yaml:6: telemetry.enableProfiling: `,
			}},
		{name: "audit", yaml: minimal + "audit:\n  output: \"\"\n  format: text\n",
			want: []string{
				`config.yaml:5: audit.output: is empty`,
				`config.yaml:6: audit.format: "text" is not one of json`,
			}},
		{name: "audit without output", yaml: minimal + "audit:\n  format: json\n",
			want: []string{`config.yaml:4: audit: audit.output is required`}},
		{name: "wrong types", yaml: minimal + "enablePasswordDB: \"yes\"\nstaticClients: {id: a}\nfrontend: [a]\n",
			want: []string{
				`config.yaml:4: enablePasswordDB: must be true or false`,
				`config.yaml:5: staticClients: must be a list`,
				`config.yaml:6: frontend: must be a mapping`,
			}},
		{name: "invalid yaml", yaml: "issuer: a\n  web: [\n", want: []string{`config.yaml:2: invalid YAML`}},
		{name: "empty file", yaml: "", want: []string{`config.yaml:1: the file is empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.yaml, tt.env)
			got := problems(err)
			slices.SortStableFunc(got, func(a, b string) int { return problemLine(lineErr(a)) - problemLine(lineErr(b)) })
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// lineErr turns a printed problem back into one carrying its line, for
// sorting like printProblems does.
func lineErr(s string) error {
	p := &Problem{}
	parts := strings.SplitN(s, ":", 3)
	if len(parts) == 3 {
		for _, r := range parts[1] {
			p.Line = p.Line*10 + int(r-'0')
		}
	}
	return p
}

func TestTypicalDexConfigValues(t *testing.T) {
	c, err := parse(t, typicalDex, map[string]string{"PGPASSWORD": "pg secret", "LDAP_BIND_PW": "b$nd"})
	if err != nil {
		t.Fatal(err)
	}
	pg, _ := c.Storage.Settings.(PostgresConfig)
	if c.Storage.Type != "postgres" || pg.Host != "db.example.com" || pg.Port != 5432 || pg.Password != "pg secret" ||
		pg.SSL.Mode != "verify-full" || pg.ConnectionTimeout != 5*time.Second || pg.ConnMaxLifetime != 5*time.Minute || pg.MaxOpenConns != 10 {
		t.Errorf("postgres = %+v", pg)
	}
	if c.Web.TLSMinVersion != 0x0304 || c.Web.HTTPS != "0.0.0.0:5554" {
		t.Errorf("web = %+v", c.Web)
	}
	wantHeaders := map[string]string{"Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Frame-Options": "deny"}
	if len(c.Web.Headers) != len(wantHeaders) {
		t.Errorf("headers = %v, want %v (a blank value leaves the header unset)", c.Web.Headers, wantHeaders)
	}
	for k, v := range wantHeaders {
		if c.Web.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, c.Web.Headers[k], v)
		}
	}
	if c.Logger.Level != slog.LevelInfo || c.Logger.Format != "json" {
		t.Errorf("logger = %+v", c.Logger)
	}
	sc := c.serverConfig(nil, nil, nil)
	if sc.Expiry.SigningKeys != 12*time.Hour || sc.Expiry.IDTokens != time.Hour || sc.Expiry.AuthRequests != 10*time.Minute ||
		sc.Expiry.RefreshTokens.ReuseInterval != 5*time.Second || sc.Expiry.RefreshTokens.ValidIfNotUsedFor != 2160*time.Hour ||
		sc.Expiry.RefreshTokens.AbsoluteLifetime != 3960*time.Hour {
		t.Errorf("expiry = %+v", sc.Expiry)
	}
	if sc.SigningAlgorithm != "ES256" || sc.PasswordConnector != "ldap" || !sc.SkipApprovalScreen || !sc.AlwaysShowLoginScreen ||
		!slices.Equal(sc.GrantTypes, []string{"authorization_code", "refresh_token", "password"}) || !slices.Equal(sc.ResponseTypes, []string{"code"}) {
		t.Errorf("server config = %+v", sc)
	}
	if sc.Web.Issuer != "Example Corp" || sc.Web.LogoURL != "https://example.com/logo.png" || !slices.Equal(sc.AllowedOrigins, []string{"https://app.example.com"}) {
		t.Errorf("web = %+v, origins %v", sc.Web, sc.AllowedOrigins)
	}
	if len(sc.Clients) != 2 || sc.Clients[0].Secret != "proxy-secret" || !sc.Clients[1].Public || !slices.Equal(sc.Clients[0].TrustedPeers, []string{"kubectl"}) {
		t.Errorf("clients = %+v", sc.Clients)
	}
	if len(c.Connectors) != 1 {
		t.Fatalf("connectors = %+v", c.Connectors)
	}
	// Environment variables are expanded inside connector config blocks.
	var ldap struct {
		BindPW     string `yaml:"bindPW"`
		UserSearch struct {
			Filter string `yaml:"filter"`
		} `yaml:"userSearch"`
	}
	if err := c.Connectors[0].Config.Decode(&ldap); err != nil {
		t.Fatal(err)
	}
	if ldap.BindPW != "b$nd" || ldap.UserSearch.Filter != "(objectClass=person)" {
		t.Errorf("ldap config = %+v", ldap)
	}
	if len(c.Users) != 1 || c.Users[0].Email != "Admin@Example.com" || !c.Users[0].EmailVerified || string(c.Users[0].Hash) != demoHash {
		t.Errorf("users = %+v", c.Users)
	}
	if !slices.Equal(c.connectorIDs(), []string{"ldap", "local"}) {
		t.Errorf("connector order = %v", c.connectorIDs())
	}
}

func TestEnvironment(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(demoHash))
	yaml := `issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
storage:
  type: sqlite3
  config:
    file: ${DATA_DIR}/torii-$$1.db
staticClients:
- idEnv: CLIENT_ID
  secretEnv: CLIENT_SECRET
  redirectURIs: [http://a/cb]
enablePasswordDB: true
staticPasswords:
- email: a@example.com
  hashFromEnv: HASH
  userID: "1"
  emailVerified: false
  groups: [g1, g2]
- email: b@example.com
  hash: "` + b64 + `"
  userID: "2"
  name: Bee
  username: b
`
	c, err := parse(t, yaml, map[string]string{"DATA_DIR": "/data", "CLIENT_ID": "app", "CLIENT_SECRET": "s3", "HASH": demoHash})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Storage.Settings.(sqliteSettings); st.File != "/data/torii-$1.db" {
		t.Errorf("storage = %+v", c.Storage)
	}
	if c.Clients[0].ID != "app" || c.Clients[0].Secret != "s3" {
		t.Errorf("client = %+v", c.Clients[0])
	}
	if string(c.Users[0].Hash) != demoHash || c.Users[0].EmailVerified || !slices.Equal(c.Users[0].Groups, []string{"g1", "g2"}) {
		t.Errorf("user 0 = %+v", c.Users[0])
	}
	// A base64-encoded bcrypt hash is decoded, as Dex does.
	if string(c.Users[1].Hash) != demoHash || !c.Users[1].EmailVerified {
		t.Errorf("user 1 = %+v", c.Users[1])
	}
	if bcrypt.CompareHashAndPassword(c.Users[1].Hash, []byte("password")) != nil {
		t.Error("decoded hash does not match the password")
	}
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Storage.Settings.(sqliteSettings); c.Storage.Type != "sqlite3" || st.File != defaultSQLiteFile {
		t.Errorf("storage = %+v, want sqlite3 %s", c.Storage, defaultSQLiteFile)
	}
	if c.Logger.Level != slog.LevelInfo || c.Logger.Format != "text" {
		t.Errorf("logger = %+v", c.Logger)
	}
	if c.Web.TLSMinVersion != 0 || c.EnablePasswordDB || len(c.connectorIDs()) != 0 {
		t.Errorf("config = %+v", c)
	}
	// Zero durations and algorithm are the server's defaults (Dex's: keys
	// 6h, ID tokens 24h, auth requests 24h, reuse interval 3s, RS256).
	sc := c.serverConfig(nil, nil, nil)
	if sc.Expiry != (server.Expiry{}) || sc.SigningAlgorithm != "" || sc.GrantTypes != nil || sc.ResponseTypes != nil {
		t.Errorf("server config = %+v", sc)
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("issuer: http://x/\nweb: {http: ':5556'}\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path, env(nil))
	var p *Problem
	if !errors.As(err, &p) || p.File != path || p.Line != 3 || p.Path != "bogus" {
		t.Fatalf("err = %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml"), env(nil)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestExamplesAreValid(t *testing.T) {
	vars := map[string]string{"OIDC_CLIENT_ID": "oauth2-proxy", "OIDC_CLIENT_SECRET": "secret", "DEX_USER_PASSWORD": demoHash}
	for _, f := range []string{"config.dev.yaml", "config.kubeflow.yaml", "config.kubeconfig.yaml"} {
		t.Run(f, func(t *testing.T) {
			c, err := LoadConfig(filepath.Join("..", "..", "examples", f), env(vars))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Clients) == 0 || !c.EnablePasswordDB {
				t.Fatalf("example %s lost its clients or users", f)
			}
			if k := c.Kubeconfig; f == "config.kubeconfig.yaml" && (k == nil || len(k.Clusters) != 2 || k.Clusters[0].CertificateAuthority == nil) {
				t.Fatalf("example %s lost its kubeconfig block: %+v", f, k)
			}
		})
	}
}

func TestRedirectURIRefusedAtLoad(t *testing.T) {
	c, err := ParseConfig("config.yaml", []byte(`issuer: http://127.0.0.1:5556/dex
storage: {type: memory}
web: {http: 127.0.0.1:5556}
staticClients:
- id: app
  secret: s
  redirectURIs: ["https://user@app.example/cb", "https://app.example/cb#frag", "https://app.example/ok"]
`), func(string) (string, bool) { return "", false })
	if err == nil {
		err = c.Validate()
	}
	if err == nil {
		t.Fatal("bad redirect URIs loaded")
	}
	for _, want := range []string{"redirectURIs[0]", "redirectURIs[1]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "redirectURIs[2]") {
		t.Errorf("a valid URI refused:\n%v", err)
	}
}

func TestClientRemoteIP(t *testing.T) {
	parse := func(web string) (*Config, error) {
		c, err := ParseConfig("config.yaml", []byte("issuer: http://127.0.0.1:5556/dex\nstorage: {type: memory}\nweb:\n  http: 127.0.0.1:5556\n"+web), nil)
		if err == nil {
			err = c.Validate()
		}
		return c, err
	}
	c, err := parse("  clientRemoteIP:\n    header: x-forwarded-for\n    trustedProxies: [10.0.0.0/8, 192.168.1.7, 'fd00::/8']\n")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Web.ClientIP
	if got.Header != "X-Forwarded-For" || len(got.TrustedProxies) != 3 || got.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Errorf("clientRemoteIP = %+v", got)
	}
	_, err = parse("  clientRemoteIP:\n    header: X-Forwarded-For\n    trustedProxies: [10.0.0.0/33, nope]\n")
	if err == nil || !strings.Contains(err.Error(), "trustedProxies[0]") || !strings.Contains(err.Error(), "trustedProxies[1]") {
		t.Errorf("bad proxies: %v", err)
	}
}
