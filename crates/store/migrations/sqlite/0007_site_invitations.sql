-- Site settings a platform admin changes in the portal (a missing key: the settings file's
-- value or the built-in default).
CREATE TABLE site_settings (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);

-- Invitations: a link that lets one person create an account whatever the sign-up policy,
-- optionally into an organisation. Only a hash of the link's secret is kept.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,            -- lower-cased; the account gets this address
    org_id      INTEGER REFERENCES organisations (id) ON DELETE CASCADE,
    org_admin   INTEGER NOT NULL,            -- 0/1: admin of org_id
    invited_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    used_at     INTEGER
);
CREATE INDEX invitations_org ON invitations (org_id);

-- Single sign-on logins in progress (between the redirect to the provider and its callback),
-- here rather than in one node's memory: the callback may reach another node, or a restarted
-- one. Taken once; only a hash of the state is kept.
CREATE TABLE sso_logins (
    state_hash  TEXT PRIMARY KEY NOT NULL,
    pending     TEXT NOT NULL,            -- JSON the server owns (provider, nonce, PKCE verifier)
    expires_at  INTEGER NOT NULL
);

-- Where a platform admin's role comes from: 'manual' (set by an admin or at first start) or
-- 'sso:<provider id>' (an identity provider's admin groups, re-checked at each sign-in).
ALTER TABLE users ADD COLUMN admin_source TEXT NOT NULL DEFAULT 'manual';

-- Mapping rules a platform admin adds in the portal, applied after the settings file's rules of
-- the same provider (so a co-op's people can be mapped without editing files or restarting).
CREATE TABLE sso_rules (
    id          INTEGER PRIMARY KEY NOT NULL,
    provider    TEXT NOT NULL,            -- the [[sso]] id
    kind        TEXT NOT NULL,            -- group | email_domain | default
    value       TEXT NOT NULL,            -- the group or domain ('' for default)
    org         TEXT NOT NULL,            -- the organisation's name
    is_admin    INTEGER NOT NULL,           -- 0/1: admin of org
    created_at  INTEGER NOT NULL
);
CREATE INDEX sso_rules_provider ON sso_rules (provider);
