// A relying party built on openid-client (the OpenID-certified Node.js
// library), driven by torii's interop suite (openidclient_test.go):
//
//   1. discovery, then prints {"authorize": URL} (code flow, PKCE S256,
//      state, nonce) on stdout;
//   2. reads the callback URL (where torii redirected the browser) on stdin;
//   3. redeems the code (ID token signature and claims checked), calls
//      userinfo, refreshes, and prints the result as one JSON line.
//
// Settings come from the environment: ISSUER, CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URI. The test CA is trusted through NODE_EXTRA_CA_CERTS.
import * as client from 'openid-client';
import * as readline from 'node:readline';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  const config = await client.discovery(
    new URL(env('ISSUER')),
    env('CLIENT_ID'),
    undefined,
    client.ClientSecretBasic(env('CLIENT_SECRET')),
  );
  // Check the ID token's signature against the issuer's JWKS too (by
  // default a token received over TLS from the token endpoint is trusted).
  client.enableNonRepudiationChecks(config);

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: env('REDIRECT_URI'),
    scope: 'openid email profile groups offline_access',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  out({ authorize: authorize.href });

  const rl = readline.createInterface({ input: process.stdin });
  const callback = await new Promise((resolve, reject) => {
    rl.once('line', resolve);
    rl.once('close', () => reject(new Error('stdin closed before the callback URL')));
  });
  rl.close();

  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: codeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  if (!tokens.refresh_token) throw new Error('no refresh_token with offline_access');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  out({
    claims,
    userinfo,
    refreshedClaims: refreshed.claims() ?? null,
    refreshTokenRotated: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== tokens.refresh_token,
    serverMetadata: {
      issuer: config.serverMetadata().issuer,
      code_challenge_methods_supported: config.serverMetadata().code_challenge_methods_supported ?? null,
    },
  });
}

main().catch((err) => {
  out({ error: String(err && err.stack ? err.stack : err), cause: err && err.cause ? String(JSON.stringify(err.cause)) : null });
  process.exitCode = 1;
});
