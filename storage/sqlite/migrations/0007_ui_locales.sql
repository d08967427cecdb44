-- The login pages' languages, from the auth request's ui_locales (OIDC Core).
ALTER TABLE auth_requests ADD COLUMN ui_locales TEXT NOT NULL DEFAULT '';
