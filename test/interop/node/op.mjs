// An upstream OpenID Provider for torii's oidc connector tests: panva's
// oidc-provider (OpenID Certified), with its development login and consent
// pages, HTTPS with the suite's test certificate, and a small control
// server the Go test uses to disable an account.
//
// Usage: node op.mjs CONFIG.json
//   CONFIG: {"port", "controlPort", "cert", "key", "clients": [...]}
// Prints one JSON line {"issuer", "control"} once both servers listen.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `https://127.0.0.1:${cfg.port}`;

// The people of the upstream. Claims as Keycloak's groups mapper sends them
// (groups with the full path are shaped by the Go test's config).
const accounts = {
  jane: { name: 'Jane Upstream', email: 'jane@upstream.example', email_verified: true, preferred_username: 'jane', groups: ['admins', 'developers'] },
  bob: { name: 'Bob Upstream', email: 'bob@upstream.example', email_verified: true, preferred_username: 'bob', groups: ['viewers'] },
};
const disabled = new Set();

const provider = new Provider(issuer, {
  clients: cfg.clients,
  async findAccount(ctx, id) {
    if (!accounts[id] || disabled.has(id)) return undefined;
    return {
      accountId: id,
      async claims() { return { sub: id, ...accounts[id] }; },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  // The claims of the requested scopes go in the ID token too (Dex's
  // connector reads the ID token unless getUserInfo is set).
  conformIdTokenClaims: false,
  rotateRefreshToken: true,
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  cookies: { keys: ['torii-interop-upstream-cookie-key'] },
  pkce: { required: () => false },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = https.createServer({ cert: readFileSync(cfg.cert), key: readFileSync(cfg.key) }, provider.callback());
const control = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://control');
  const who = u.searchParams.get('account');
  if (req.method === 'POST' && u.pathname === '/disable' && accounts[who]) {
    disabled.add(who);
  } else if (req.method === 'POST' && u.pathname === '/enable' && accounts[who]) {
    disabled.delete(who);
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
});

let listening = 0;
const ready = () => {
  listening += 1;
  if (listening === 2) {
    process.stdout.write(`${JSON.stringify({ issuer, control: `http://127.0.0.1:${cfg.controlPort}` })}\n`);
  }
};
server.listen(cfg.port, '127.0.0.1', ready);
control.listen(cfg.controlPort, '127.0.0.1', ready);
