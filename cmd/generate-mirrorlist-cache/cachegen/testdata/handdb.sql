-- A MirrorManager2 database small enough to check by hand, with one host
-- for each case the generator distinguishes. Countries and addresses are
-- those of the fixtures' tiny GeoIP database: DE 80.0.0.0/8, FR 90/8,
-- US 20/8 (ASN 7018 on 20.64.0.0/10), CA 24/8, TR 88/8.
--
-- What each host should become (handdb.snapshot.txt is the generated
-- snapshot, written out; the .txt answers are what the server says):
--
--  id name            case                                   Global  ByHostId
--   1 de-public       public, up to date everywhere          yes     yes
--   2 de-private      host.private; netblock 80.10.0.0/16;    no      yes
--                     Internet2 with internet2_clients
--   3 de-siteprivate  site.private (host itself public)      no      yes
--   4 fr-always       always_up2date for Fedora, no dir rows yes     yes (Fedora)
--   5 us-clamped      country 'us', bandwidth 20000 → 10000  yes     yes
--   6 us-asn          asn 7018, asn_clients; bandwidth NULL  yes     yes
--   7 us-allowed      country_allowed us, ca                 yes     yes
--   8 ca-netblocks    netblocks: dotted netmask, bare        yes     yes
--                     address, a name, and garbage
--   9 de-user-off     host.user_active false                 no      no
--  10 fr-admin-off    host.admin_active false                no      no
--  11 us-site-off     site.admin_active false                no      no
--  12 de-stale        not up to date on updates              yes     releases only
--  13 us-internet2    public Internet2 host                  yes     yes
--  14 ca-private-url  its only URL is private                yes     no (no public URL)

INSERT INTO site (id, name, private, admin_active, user_active) VALUES
	(1, 'Site DE', false, true, true),
	(2, 'Site DE private', false, true, true),
	(3, 'Site private', true, true, true),
	(4, 'Site FR', false, true, true),
	(5, 'Site US', false, true, true),
	(6, 'Site CA', false, true, true),
	(7, 'Site US off', false, false, true);

INSERT INTO host (id, name, site_id, admin_active, user_active, country, bandwidth_int, private,
	internet2, internet2_clients, asn, asn_clients, max_connections) VALUES
	(1, 'de-public.example.org', 1, true, true, 'DE', 1000, false, false, false, NULL, true, 1),
	(2, 'de-private.example.org', 2, true, true, 'DE', 50, true, true, true, NULL, true, 2),
	(3, 'de-siteprivate.example.org', 3, true, true, 'DE', 100, false, false, false, NULL, true, 1),
	(4, 'fr-always.example.org', 4, true, true, 'FR', 500, false, false, false, NULL, true, 1),
	(5, 'us-clamped.example.com', 5, true, true, 'us', 20000, false, false, false, NULL, true, 1),
	(6, 'us-asn.example.com', 5, true, true, 'US', NULL, false, false, false, 7018, true, 8),
	(7, 'us-allowed.example.com', 5, true, true, 'US', 0, false, false, false, NULL, true, 1),
	(8, 'ca-netblocks.example.ca', 6, true, true, 'CA', 200, false, false, false, 812, false, 1),
	(9, 'de-user-off.example.org', 1, true, false, 'DE', 300, false, false, false, NULL, true, 1),
	(10, 'fr-admin-off.example.org', 4, false, true, 'FR', 300, false, false, false, NULL, true, 1),
	(11, 'us-site-off.example.com', 7, true, true, 'US', 300, false, false, false, NULL, true, 1),
	(12, 'de-stale.example.org', 1, true, true, 'DE', 400, false, false, false, NULL, true, 1),
	(13, 'us-internet2.example.edu', 5, true, true, 'US', 700, false, true, false, NULL, true, 1),
	(14, 'ca-private-url.example.ca', 6, true, true, 'CA', 100, false, false, false, NULL, true, 1);

-- Host 9 is inactive: its netblock and country restriction are dropped.
INSERT INTO host_netblock (id, host_id, netblock, name) VALUES
	(1, 2, '80.10.0.0/16', 'private net'),
	(2, 8, '24.5.0.0/255.255.0.0', 'dotted netmask'),
	(3, 8, ' 24.6.7.8 ', 'bare address, spaces'),
	(4, 8, 'mirror-net.example', 'a name: resolves to 24.9.9.9 in the test'),
	(5, 8, 'not a netblock', 'garbage: skipped with a warning'),
	(6, 9, '80.99.0.0/16', 'inactive host'),
	(7, 1, '80.10.20.7/24', 'host bits set: masked to 80.10.20.0/24');

INSERT INTO host_country_allowed (id, host_id, country) VALUES
	(1, 7, 'us'),
	(2, 7, 'ca'),
	(3, 9, 'de');

INSERT INTO directory (id, name) VALUES
	(1, 'pub/fedora/linux'),
	(2, 'pub/fedora/linux/releases/41/Everything/x86_64/os'),
	(3, 'pub/fedora/linux/releases/41/Everything/x86_64/os/repodata'),
	(4, 'pub/fedora/linux/updates/41/Everything/x86_64'),
	(5, 'pub/fedora/linux/updates/41/Everything/x86_64/repodata'),
	(6, 'pub/epel'),
	(7, 'pub/epel/10.1/Everything/x86_64'),
	(8, 'pub/epel/10.1/Everything/x86_64/repodata'),
	(9, 'pub/alt/uncategorised');

INSERT INTO category (id, name, topdir_id) VALUES
	(1, 'Fedora Linux', 1),
	(2, 'Fedora EPEL', 6);

-- Directory 9 is in no category: no MirrorListCache entry, but its file
-- details are still written.
INSERT INTO category_directory (category_id, directory_id) VALUES
	(1, 1), (1, 2), (1, 3), (1, 4), (1, 5),
	(2, 6), (2, 7), (2, 8);

-- Host category ids are host × 10 + category.
INSERT INTO host_category (id, host_id, category_id, always_up2date) VALUES
	(11, 1, 1, false), (12, 1, 2, false),
	(21, 2, 1, false),
	(31, 3, 1, false),
	(41, 4, 1, true), (42, 4, 2, false),
	(51, 5, 1, false), (52, 5, 2, false),
	(61, 6, 1, false),
	(71, 7, 1, false),
	(81, 8, 1, false),
	(91, 9, 1, false),
	(101, 10, 1, false),
	(111, 11, 1, false),
	(121, 12, 1, false),
	(131, 13, 1, false),
	(141, 14, 1, false);

-- hcurl ids are host × 100 + n.
INSERT INTO host_category_url (id, host_category_id, url, private) VALUES
	(100, 11, 'https://de-public.example.org/fedora', false),
	(101, 11, 'http://de-public.example.org/fedora', false),
	(102, 11, 'rsync://de-public.example.org/fedora', false),
	(103, 12, 'https://de-public.example.org/epel', false),
	(200, 21, 'https://de-private.example.org/fedora', false),
	(201, 21, 'rsync://de-private.example.org/fedora-private', true),
	(300, 31, 'https://de-siteprivate.example.org/fedora', false),
	(400, 41, 'https://fr-always.example.org/fedora', false),
	(401, 42, 'https://fr-always.example.org/epel', false),
	(500, 51, 'http://us-clamped.example.com/fedora', false),
	(501, 51, 'https://us-clamped.example.com/fedora', false),
	(502, 52, 'https://us-clamped.example.com/epel', false),
	(600, 61, 'https://us-asn.example.com/pub/fedora/linux/', false),
	(700, 71, 'https://us-allowed.example.com/fedora', false),
	(800, 81, 'https://ca-netblocks.example.ca/fedora', false),
	(900, 91, 'https://de-user-off.example.org/fedora', false),
	(1000, 101, 'https://fr-admin-off.example.org/fedora', false),
	(1100, 111, 'https://us-site-off.example.com/fedora', false),
	(1200, 121, 'https://de-stale.example.org/fedora', false),
	(1300, 131, 'https://us-internet2.example.edu/fedora', false),
	(1400, 141, 'https://ca-private-url.example.ca/fedora', true);

-- Up-to-date marks: every host category but 41 (always up to date) and 42
-- (never marked) on every directory of its category, except host 12's
-- updates directories, marked not up to date.
INSERT INTO host_category_dir (host_category_id, directory_id, path, up2date)
SELECT hc.id, cd.directory_id, substr(d.name, length(t.name) + 2),
	NOT (hc.host_id = 12 AND d.name LIKE 'pub/fedora/linux/updates/%')
FROM host_category hc
JOIN category_directory cd ON cd.category_id = hc.category_id
JOIN directory d ON d.id = cd.directory_id
JOIN category c ON c.id = hc.category_id
JOIN directory t ON t.id = c.topdir_id
WHERE hc.id NOT IN (41, 42);

INSERT INTO arch (id, name) VALUES (1, 'x86_64'), (2, 'aarch64');
INSERT INTO version (id, name) VALUES (1, '41'), (2, '10.1');

-- fedora-38 is disabled and its directory is gone; rawhide-noversion has
-- no version and no-prefix no prefix: neither is a RepoArchToDirectoryName
-- key. updates-testing-f41 is disabled but still listed.
INSERT INTO repository (id, name, prefix, category_id, version_id, arch_id, directory_id, disabled) VALUES
	(1, 'Fedora 41 x86_64', 'fedora-41', 1, 1, 1, 2, false),
	(2, 'Fedora 41 updates x86_64', 'updates-released-f41', 1, 1, 1, 4, false),
	(3, 'Fedora 41 updates testing x86_64', 'updates-testing-f41', 1, 1, 1, 4, true),
	(4, 'EPEL 10.1 x86_64', 'epel-10.1', 2, 2, 1, 7, false),
	(5, 'Fedora 38 x86_64', 'fedora-38', 1, NULL, 1, NULL, true),
	(6, 'Rawhide without a version', 'rawhide-noversion', 1, NULL, 1, 2, false),
	(7, 'No prefix', NULL, 1, 1, 2, 2, false),
	(8, 'Fedora 41 updates testing aarch64', 'updates-testing-f41', 1, 1, 2, 4, true);

INSERT INTO repository_redirect (id, from_repo, to_repo) VALUES
	(1, 'epel-10', 'epel-10.1'),
	(2, 'epel-9.9', NULL);

INSERT INTO country_continent_redirect (id, country, continent) VALUES (1, 'TR', 'EU');

INSERT INTO netblock_country (id, netblock, country) VALUES (1, '24.200.0.0/16', 'US');

-- repomd.xml of the release: the newest version, an older one (an
-- alternate) and one of unknown time (last). The updates have three
-- versions; EPEL's one has a sha256 only.
INSERT INTO file_detail (id, directory_id, filename, timestamp, size, sha1, md5, sha256, sha512) VALUES
	(1, 3, 'repomd.xml', 1732400000, 4000, 'a1', 'a2', 'a3', 'a4'),
	(2, 3, 'repomd.xml', 1732480000, 4611, 'b1', 'b2', 'b3', 'b4'),
	(3, 3, 'repomd.xml', NULL, NULL, NULL, NULL, 'c3', NULL),
	(4, 5, 'repomd.xml', 1732300000, 3000, NULL, NULL, 'd3', NULL),
	(5, 5, 'repomd.xml', 1732470000, 3100, NULL, NULL, 'e3', NULL),
	(6, 5, 'repomd.xml', 1732460000, 3050, NULL, NULL, 'f3', NULL),
	(7, 8, 'repomd.xml', 1732450000, 2000, NULL, NULL, 'g3', NULL),
	(8, 9, 'foo.xml', 1732000000, 10, 'h1', NULL, NULL, NULL),
	(9, 5, 'updateinfo.xml.zck', 1732470000, 99999, NULL, NULL, 'i3', NULL);
