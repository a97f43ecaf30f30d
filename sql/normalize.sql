-- Normalisers: typical, Unicode, empty and malformed input; NULL where there is no value.
\pset null '(null)'

-- Declared IMMUTABLE STRICT PARALLEL SAFE, each with a comment.
SELECT p.oid::regprocedure AS function, p.provolatile, p.proisstrict, p.proparallel,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p
WHERE p.pronamespace = 'crm'::regnamespace
  AND p.proname IN ('normalize_email', 'normalize_phone', 'registrable_domain', 'is_free_email_domain',
                    'is_disposable_email_domain', 'normalize_company_name', 'normalize_person_name',
                    'given_name_forms')
ORDER BY 1::text;

-- Email: Gmail dots and tags, googlemail, sub-addressing only where the provider honours it, IDN.
SELECT input, crm.normalize_email(input)
FROM (VALUES ('  John.Smith+news@Gmail.com '), ('john.smith@googlemail.com'), ('J.Smith+x@outlook.com'),
             ('j.smith+x@example.com'), ('alias-shop@yahoo.com'), ('info@Bücher.de'),
             ('info@xn--bcher-kva.de'), ('José@example.com'), ('josé@example.com.'), (''), ('   '),
             ('john'), ('john@localhost'), ('@example.com'), ('a@b@example.com'),
             ('John <john@example.com>'), ('john smith@example.com'), ('jo..hn@example.com'),
             ('john@1.2.3.4'), (NULL)) AS t(input);
SELECT crm.normalize_email(repeat('a', 2000000) || '@example.com') AS two_megabytes;

-- Phone: E.164, region from the second argument; impossible and local-only numbers are NULL.
SELECT input, region, crm.normalize_phone(input, region)
FROM (VALUES ('(415) 555-2671', 'US'), ('020 7946 0958', 'GB'), ('020 7946 0958', 'gb'),
             ('+44 20 7946 0958', 'US'), ('0044 20 7946 0958', 'GB'), ('＋１ ４１５ ５５５ ２６７１', 'US'),
             ('415 555 2671 ext. 7', 'US'), ('020 7946 0958', 'XX'), ('+44 20 7946 0958', 'XX'),
             ('555-2671', 'US'), ('123', 'US'), ('not a number', 'US'), ('', 'US'),
             ('415 555 2671', NULL), (NULL, 'US')) AS t(input, region);
SELECT crm.normalize_phone('(415) 555-2671') AS default_region_us;

-- Registrable domain of an address, host or URL.
SELECT input, crm.registrable_domain(input)
FROM (VALUES ('mail.acme.co.uk'), ('http://www.Example.COM/x'), ('https://user:pw@shop.example.com:8443/a?b=c@d'),
             ('john@sales.acme.com.au'), ('mailto:info@example.de'), ('www.Bücher.de'), ('пример.рф'),
             ('co.uk'), ('localhost'), ('acme.local'), ('192.168.0.1'), ('http://[::1]/'), ('exa mple.com'),
             (''), (NULL)) AS t(input);

-- Free-mail and disposable domains, by the installed lists.
SELECT input, crm.is_free_email_domain(input) AS free, crm.is_disposable_email_domain(input) AS disposable
FROM (VALUES ('John@GMail.com'), ('web.de'), ('https://mail.yahoo.co.uk/'), ('x@mailinator.com'),
             ('jane@acme.com'), ('gmail'), (''), (NULL)) AS t(input);

-- Company names: legal forms of every country, 'the', '&'/'and', punctuation, transliteration.
SELECT input, crm.normalize_company_name(input)
FROM (VALUES ('The Acme Corporation, Inc.'), ('ACME Corp'), ('acme'), ('Müller GmbH'),
             ('Schmidt GmbH & Co. KG'), ('Telefónica, S.A.'), ('Procter & Gamble'), ('Procter and Gamble Co.'),
             ('O''Reilly Media, Inc.'), ('I.B.M.'), ('ООО Ромашка'), ('ＡＣＭＥ Ｃｏｒｐ'), ('Inc.'),
             ('The'), ('😀'), ('...'), (''), ('  '), (NULL)) AS t(input);

-- Person names: honorifics and generational suffixes dropped, hyphens separate, apostrophes join.
SELECT input, crm.normalize_person_name(input)
FROM (VALUES ('Dr. John Smith Jr.'), ('Jean-Pierre O''Neil'), ('J.R.R. Tolkien, Ph.D.'), ('José Müller'),
             ('Иван Петров'), ('ＪＯＨＮ'), ('Mr.'), ('😀'), (''), (NULL)) AS t(input);

-- Given names with the canonical names they may be nicknames of.
SELECT input, crm.given_name_forms(input)
FROM (VALUES ('Bob'), ('Bill'), ('Robert'), ('Peggy'), ('Qwzx'), ('Mr.'), (''), (NULL)) AS t(input);
SELECT 'margaret' = ANY (crm.given_name_forms('Peggy')) AS peggy_is_margaret,
       crm.given_name_forms('Bob') && crm.given_name_forms('Robert') AS bob_meets_robert,
       crm.given_name_forms('Bob') && crm.given_name_forms('William') AS bob_meets_william;
